import { randomUUID } from "node:crypto";
import { z } from "zod";
import {
  logFailure,
  CART_COPY_EDITED,
  CheckOutCartRequest,
  CheckoutResult,
  parseRow,
  type CheckoutJob,
} from "@oms/shared";
import type { ApiDeps } from "../deps";
import { failure, parseInput, success, type HttpResult } from "../http/result";
import type { RequestContext } from "./cart";
import { lockOrJoinCheckout, releaseLockOf } from "./checkout-lock";
import { infrastructureFailure, jobFailure, withDeadline } from "./errors";
import { keyedOrderId } from "./order-id";

export interface CheckoutOptions {
  /** `Prefer: respond-async`: answer 202 as soon as the checkout is queued. */
  respondAsync: boolean;
  /** The request's Idempotency-Key: a retry of it is the same order, whatever happened to the first answer. */
  idempotencyKey?: string;
}

const CartQuantity = z.object({ quantity: z.number() });
/**
 * POST /checkOutCart. One checkout per client at a time: a second submit while one
 * runs joins it (same order id, same answer) instead of making a second order; a
 * submit after it ended is a new checkout.
 */
export async function checkOutCart(
  deps: ApiDeps,
  body: unknown,
  ctx: RequestContext,
  options: CheckoutOptions,
): Promise<HttpResult> {
  const input = parseInput(CheckOutCartRequest, body);
  if (!input.ok) return input.result;
  const { clientID, paymentToken } = input.data;

  try {
    const short = options.idempotencyKey === undefined ? await shortLine(deps, clientID) : null;
    if (short) {
      // Counted like the workers count theirs, so oms_checkout_outcomes sees every sold-out answer.
      await deps.redis.hincrby(deps.keys.checkoutOutcomes, "out_of_stock", 1);
      return failure("INSUFFICIENT_STOCK", `not enough stock of ${short.productId}: ${short.available} available`, {
        state: "failed",
        productID: short.productId,
        available: short.available,
      });
    }
  } catch (err) {
    return infrastructureFailure(err);
  }

  const keyed = options.idempotencyKey !== undefined;
  let orderId: string = keyed ? keyedOrderId(deps.orderIdKey, clientID, options.idempotencyKey ?? "") : randomUUID();
  let joined = false;
  try {
    // A keyed retry whose job already finished answers from that job: it neither takes
    // the lock (nothing would release it) nor runs again.
    const done = keyed && (await deps.queues.checkout.getJob(orderId))?.finishedOn !== undefined;
    if (done) joined = true;
    else ({ orderId, joined } = await lockOrJoinCheckout(deps, clientID, orderId));
  } catch (err) {
    return infrastructureFailure(err);
  }

  const outcome = options.respondAsync
    ? null
    : // A keyed retry may find its job already finished: its result went to nobody, so poll it.
      deps.results.checkout.wait(orderId, deps.config.CHECKOUT_TIMEOUT_MS, joined || keyed);
  if (!joined) {
    // An accepted checkout's order is in MySQL before its job can run: a worker quicker
    // than a later insert would find no order, end the job without one (an empty cart),
    // and the insert would then leave a pending order no job finishes.
    if (options.respondAsync) {
      const notRecorded = await recordPending(deps, orderId, clientID, keyed);
      if (notRecorded) {
        await releaseLockOf(deps, clientID, orderId).catch(lockLapses(deps));
        return notRecorded;
      }
    }
    const job: CheckoutJob = {
      type: "checkout",
      replyTo: deps.replyTo,
      orderId,
      clientId: clientID,
      paymentToken,
      requestId: ctx.requestId,
    };
    try {
      await withDeadline(deps.queues.checkout.add("checkout", job, { jobId: orderId }), 2_000);
    } catch (err) {
      // The lock lapses by itself after CHECKOUT_LOCK_TTL_MS; the answer is the enqueue's failure.
      await releaseLockOf(deps, clientID, orderId).catch(lockLapses(deps));
      return infrastructureFailure(err);
    }
  }
  // Not joined, the accepted order was recorded before its job was queued.
  if (!outcome) return joined ? pending(deps, orderId, clientID, keyed) : accepted(orderId);

  const result = await outcome;
  // A keyed retry's lock may have been taken just after its finished job unlocked (BullMQ
  // does not add a job id twice, so nothing else would release it): once the order's
  // answer is known, its lock goes.
  // Best effort: the lock lapses by itself after CHECKOUT_LOCK_TTL_MS, and the answer is known.
  if (keyed && result.kind !== "timeout") await releaseLockOf(deps, clientID, orderId).catch(lockLapses(deps));
  switch (result.kind) {
    case "timeout":
      return pending(deps, orderId, clientID, keyed);
    case "failed":
      return jobFailure(result);
    case "completed":
      return checkoutAnswer(CheckoutResult.parse(result.value));
  }
}

/**
 * 202: the checkout is accepted and goes on. A pending order row is recorded first, so
 * the order id the client holds is known to MySQL even if Redis then loses the job (the
 * recovery ends it); the worker fills the row in. When MySQL cannot record it, the answer
 * is 503 rather than an acceptance nothing durable backs, with no order id (it may never
 * exist) and only the advice that holds for this request (checkoutNotRecorded).
 */
async function pending(deps: ApiDeps, orderId: string, clientID: string, keyed: boolean): Promise<HttpResult> {
  return (await recordPending(deps, orderId, clientID, keyed)) ?? accepted(orderId);
}

function accepted(orderId: string): HttpResult {
  return {
    status: 202,
    body: { status: "Pending", error: "", orderId, state: "pending" },
    headers: { Location: `/orders/${orderId}` },
  };
}

/** The pending order row (a no-op when it exists); the 503 to answer when MySQL cannot record it. */
async function recordPending(
  deps: ApiDeps,
  orderId: string,
  clientID: string,
  keyed: boolean,
): Promise<HttpResult | undefined> {
  for (let attempt = 1; ; attempt++) {
    try {
      await deps.db.raw("INSERT IGNORE INTO orders (order_id, client_id, state) VALUES (?, ?, 'pending')", [
        orderId,
        clientID,
      ]);
      return undefined;
    } catch (err) {
      if (attempt >= 3) return { ...checkoutNotRecorded(clientID, keyed), cause: err };
      await new Promise((r) => setTimeout(r, 200 * attempt));
    }
  }
}

/**
 * A keyed retry is the same checkout, so it is safe advice; without a key a retry joins
 * the checkout while it runs, and the client's order list says whether it went through.
 */
function checkoutNotRecorded(clientID: string, keyed: boolean): HttpResult {
  const advice = keyed
    ? "retry with the same Idempotency-Key (it is the same checkout)"
    : `see GET /clients/${encodeURIComponent(clientID)}/orders, or retry (a retry while it runs joins it, it does not order twice)`;
  return failure(
    "DEPENDENCY_UNAVAILABLE",
    `the database is unavailable, so the checkout is not confirmed; it may still complete: ${advice}`,
    {},
    { "Retry-After": "2" },
  );
}

export function checkoutAnswer(result: CheckoutResult): HttpResult {
  switch (result.outcome) {
    case "completed":
      return success({ orderId: result.orderId, state: "completed", totalCents: result.totalCents });
    case "declined":
      return failure("PAYMENT_DECLINED", result.reason, { orderId: result.orderId, state: "failed" });
    case "out_of_stock":
      return failure("INSUFFICIENT_STOCK", `not enough stock of ${result.productId}`, {
        orderId: result.orderId,
        state: "failed",
        productID: result.productId,
        available: result.available,
      });
    case "empty_cart":
      return failure("EMPTY_CART", "the cart is empty");
    case "failed":
      return failure("CONFLICT", result.reason, { orderId: result.orderId, state: "failed" });
  }
}

/**
 * The sold-out fast path: the API's copy of the cart against the cached levels, a few
 * Redis reads and no queue (and, for a cart that was edited, one primary-key read
 * before refusing). It only ever turns a checkout away when a line is short right now;
 * anything it cannot tell (no copy, uncached level) goes to the workers, which decide
 * for real. Never for a checkout already under way (the client's checkout lock is held)
 * or a keyed request (a retry of one that may have run): their own reservation may be
 * what emptied the level, and they must get their order's answer.
 */
async function shortLine(deps: ApiDeps, clientID: string): Promise<{ productId: string; available: number } | null> {
  if (!deps.soldOutFastPath) return null;
  const short = await deps.engine.cartShortfall(
    deps.keys.cartMirror(clientID),
    deps.keys.checkoutLock(clientID),
    CART_COPY_EDITED,
  );
  if (!short) return null;
  // An edited cart's copy may run ahead of MySQL (a line lowered in one worker process
  // while another wrote the copy of an earlier value): its refusal is only given when
  // MySQL's line (one primary-key read) is short too; otherwise the workers decide.
  if (!short.edited) return short;
  const line = parseRow(
    CartQuantity,
    await deps.db("client_cart").where({ client_id: clientID, product_id: short.productId }).first("quantity"),
  );
  return line !== undefined && line.quantity > short.available ? short : null;
}

/** The checkout lock lapses by itself after CHECKOUT_LOCK_TTL_MS: a failed release only delays the client's next checkout. */
function lockLapses(deps: ApiDeps) {
  return logFailure(deps.logger, "checkout lock not released: it lapses after CHECKOUT_LOCK_TTL_MS");
}
