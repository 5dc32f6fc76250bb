import { z } from "zod";
import type { StockChange } from "@oms/inventory";
import { logFailure, RefundRequest, ShipRequest, statesLeadingTo, type OrderState, errorMessage } from "@oms/shared";

const ProductIds = z.array(z.string());
import type { ApiDeps } from "../deps";
import { failure, parseInput, success, type HttpResult } from "../http/result";
import {
  moveOrder,
  recordRefund,
  type MoveOutcome,
  type NotMoved,
  type RefundLineRecord,
  type RefundOutcome,
} from "../orders/lifecycle";
import { infrastructureFailure, withDeadline } from "./errors";
import { keyedOrderId } from "./order-id";

/**
 * Cancel (the client), refund, fulfil and ship (the operator). The move itself is one
 * MySQL transaction (orders/lifecycle.ts); what follows a refund's commit is carried out
 * here and is safe to lose: the cache is repaired by the reconciler, and a refund whose
 * job never got queued is picked up by the sweep of pending refunds.
 */

export function parseOrderId(orderId: string): { ok: true; id: string } | { ok: false; result: HttpResult } {
  const id = z.uuid().safeParse(orderId);
  return id.success
    ? { ok: true, id: id.data }
    : { ok: false, result: failure("INVALID_INPUT", "orderId: must be a UUID") };
}

/** POST /orders/:orderId/cancel: the client's whole refund, before fulfilment. */
export async function cancelOrder(deps: ApiDeps, orderId: string, owner?: string): Promise<HttpResult> {
  const id = parseOrderId(orderId);
  if (!id.ok) return id.result;
  return refund(deps, id.id, { kind: "cancel", ...(owner === undefined ? {} : { owner }) });
}

/**
 * POST /admin/orders/:orderId/refund: no body (or `{}`) refunds what is left, `{lines}`
 * part of it. With an Idempotency-Key the refund's id is derived from it (as a keyed
 * checkout's order id is), so a retry is the same refund even when the stored answer
 * is gone (Redis lost it, or the first try answered 503 after its commit).
 */
export async function refundOrder(
  deps: ApiDeps,
  orderId: string,
  body: unknown,
  idempotencyKey?: string,
): Promise<HttpResult> {
  const id = parseOrderId(orderId);
  if (!id.ok) return id.result;
  const input = parseInput(RefundRequest, body ?? {});
  if (!input.ok) return input.result;
  return refund(deps, id.id, {
    kind: "refund",
    ...(input.data.lines ? { lines: input.data.lines } : {}),
    ...(idempotencyKey ? { refundId: keyedOrderId(deps.orderIdKey, `refund of ${id.id}`, idempotencyKey) } : {}),
  });
}

/** POST /admin/orders/:orderId/fulfil. */
export async function fulfilOrder(deps: ApiDeps, orderId: string): Promise<HttpResult> {
  return move(deps, orderId, "fulfilled");
}

/** POST /admin/orders/:orderId/ship `{trackingRef?}`. */
export async function shipOrder(deps: ApiDeps, orderId: string, body: unknown): Promise<HttpResult> {
  const input = parseInput(ShipRequest, body ?? {});
  if (!input.ok) return input.result;
  return move(deps, orderId, "shipped", input.data.trackingRef);
}

async function move(
  deps: ApiDeps,
  orderId: string,
  to: "fulfilled" | "shipped",
  trackingRef?: string,
): Promise<HttpResult> {
  const id = parseOrderId(orderId);
  if (!id.ok) return id.result;
  let outcome: MoveOutcome;
  try {
    outcome = await moveOrder(deps.db, id.id, to, trackingRef);
  } catch (err) {
    return infrastructureFailure(err);
  }
  if (outcome.kind !== "moved") return notMoved(outcome, id.id, to);
  deps.logger.info({ orderId: id.id, from: outcome.from, to }, "order moved");
  return success({ orderId: id.id, state: to, previousState: outcome.from, ...(trackingRef ? { trackingRef } : {}) });
}

async function refund(
  deps: ApiDeps,
  orderId: string,
  request: Parameters<typeof recordRefund>[2],
): Promise<HttpResult> {
  let outcome: RefundOutcome;
  const changes = new Map<string, StockChange>();
  const announced = new Set<string>();
  try {
    await beginReturns(
      deps,
      ProductIds.parse(await deps.db("order_items").where({ order_id: orderId }).pluck("product_id")),
      changes,
      announced,
    );
  } catch (err) {
    return infrastructureFailure(err);
  }
  try {
    // Read before the order's lock, its products may be none yet (the API's placeholder
    // of a checkout still running) and the checkout may complete meanwhile: the refund
    // then names the products it would return, unwritten, and is tried again once their
    // changes are begun. Each try announces more, so this ends.
    for (;;) {
      outcome = await recordRefund(deps.db, orderId, { ...request, announced });
      if (outcome.kind !== "unannounced") break;
      await beginReturns(deps, outcome.productIds, changes, announced);
    }
    if (outcome.kind === "recorded" && !outcome.replayed) await returnToCache(deps, changes, outcome.lines);
  } catch (err) {
    return infrastructureFailure(err);
  } finally {
    await endReturns(deps, changes);
  }
  const to: OrderState = request.kind === "cancel" ? "cancelled" : "refunded";
  switch (outcome.kind) {
    case "not_found":
    case "refused":
      return notMoved(outcome, orderId, to);
    case "exceeds":
      return failure(
        "REFUND_EXCEEDS_ORDER",
        outcome.refundable === 0
          ? `nothing of ${outcome.productId} is left to refund in this order`
          : `only ${outcome.refundable} of ${outcome.productId} are left to refund, not ${outcome.requested}`,
        { orderId, productID: outcome.productId, refundable: outcome.refundable },
      );
    case "recorded":
      break;
  }
  await queueRefund(deps, outcome.refundId);
  deps.logger.info(
    { orderId, refundId: outcome.refundId, from: outcome.from, to: outcome.to, amountCents: outcome.amountCents },
    request.kind === "cancel" ? "order cancelled" : "order refunded",
  );
  return success({
    orderId,
    state: outcome.to,
    previousState: outcome.from,
    ...(outcome.replayed ? { replayed: true } : {}),
    refund: {
      refundId: outcome.refundId,
      amountCents: outcome.amountCents,
      // The provider is asked by a worker (the refund job); GET /orders/:orderId shows when it confirmed.
      status: outcome.status,
      lines: outcome.lines.map((l) => ({ productID: l.productId, quantity: l.quantity, amountCents: l.amountCents })),
    },
  });
}

/**
 * Announces, before the refund's commit, a stock change (stock-change.ts) for each of
 * these products not announced yet: begun ones go into `changes`, every one tried into
 * `announced`, which recordRefund checks the returned lines against. The reconciler
 * leaves those products alone until the units are back, and units are added after the
 * commit only to levels cached before it and only while the change lives, so nothing is
 * counted twice. Redis out of reach here is no reason to refuse the refund: nothing is
 * added, and the reconciler raises the levels.
 */
async function beginReturns(
  deps: ApiDeps,
  productIds: string[],
  changes: Map<string, StockChange>,
  announced: Set<string>,
): Promise<void> {
  for (const productId of new Set(productIds)) {
    if (announced.has(productId)) continue;
    // Announced even when Redis refuses: the refund goes on, and nothing is added for it.
    announced.add(productId);
    const change = await deps.engine.stockChanges
      .begin(productId)
      .catch(logFailure(deps.logger, "stock change not begun: the return reaches the cache at the next reconcile"));
    if (change) changes.set(productId, change);
  }
}

async function endReturns(deps: ApiDeps, changes: Map<string, StockChange>): Promise<void> {
  await Promise.all(
    [...changes.values()].map((c) =>
      deps.engine.stockChanges.end(c).catch(logFailure(deps.logger, "stock change not ended: it lapses by itself")),
    ),
  );
}

/**
 * After the commit the cached levels follow MySQL's, never ahead of it: a failure here
 * leaves the cache low until the reconciler repairs it. A replayed refund's units were
 * returned by its first try.
 */
async function returnToCache(
  deps: ApiDeps,
  changes: Map<string, StockChange>,
  lines: RefundLineRecord[],
): Promise<void> {
  for (const line of lines) {
    const change = changes.get(line.productId);
    if (!change) continue;
    const moved = await deps.engine.stockChanges.move(change, line.quantity, { end: true }).catch((err: unknown) => {
      deps.logger.warn(
        { productId: line.productId, change: line.quantity, err: errorMessage(err) },
        "stock cache not updated after a refund; the reconciler will repair it",
      );
      return null;
    });
    if (moved && !moved.moved)
      deps.logger.info(
        { productId: line.productId, change: line.quantity, reason: moved.reason },
        "returned units not added to the cache (not cached before, or the change outlived its time): it reads MySQL",
      );
  }
}

/** Queued once per refund id (BullMQ adds a job id once); a replay's job is usually done already. */
async function queueRefund(deps: ApiDeps, refundId: string): Promise<void> {
  const job = { type: "refund" as const, refundId };
  await withDeadline(deps.queues.inventory.add("refund", job, { jobId: `refund-${refundId}` }), 2_000).catch(
    (err: unknown) =>
      deps.logger.warn(
        { refundId, err: errorMessage(err) },
        "refund job not queued; the sweep of pending refunds will carry it",
      ),
  );
}

function notMoved(outcome: NotMoved, orderId: string, to: OrderState): HttpResult {
  if (outcome.kind === "not_found") return failure("NOT_FOUND", `unknown order ${orderId}`);
  const allowed = statesLeadingTo(to);
  return failure(
    "INVALID_TRANSITION",
    `order ${orderId} is ${outcome.state}; it can become ${to} only from ${allowed.join(" or ")}`,
    { orderId, state: outcome.state, allowedFrom: allowed },
  );
}
