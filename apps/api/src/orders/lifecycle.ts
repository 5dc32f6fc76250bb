import { randomUUID } from "node:crypto";
import {
  appendEvents,
  canTransition,
  parseRow,
  parseRows,
  transitionOrder,
  withTransaction,
  type Knex,
  type OrderState,
  type RefundRequest,
} from "@oms/shared";
import { moveEvent, refundEvent } from "./lifecycle-events";
import { LockedOrder, RecordedRefund, Refund, RefundableItem, RefundItem } from "./lifecycle-rows";

/**
 * The MySQL side of cancel, refund, fulfil and ship. Each is one transaction that locks
 * the order's row first, so two of them on one order (two cancels, a cancel and a refund,
 * a refund and a fulfil) run one after the other and the second sees what the first did:
 * exactly one of them wins a move that only one may make.
 */

export type NotMoved = { kind: "not_found" } | { kind: "refused"; state: OrderState };

export interface RefundLineRecord {
  productId: string;
  quantity: number;
  amountCents: number;
}

export type RefundOutcome =
  | NotMoved
  | { kind: "exceeds"; productId: string; requested: number; refundable: number }
  /** Nothing written: units of these products would be returned, and their returns were not announced (`announced`). */
  | { kind: "unannounced"; productIds: string[] }
  | {
      kind: "recorded";
      /** The refund was recorded before, under this id (a keyed retry): nothing was done again. */
      replayed: boolean;
      /** pending until the provider confirmed it (a fresh refund always is). */
      status: "pending" | "succeeded";
      refundId: string;
      from: OrderState;
      to: OrderState;
      amountCents: number;
      lines: RefundLineRecord[];
    };

export type MoveOutcome = NotMoved | { kind: "moved"; from: OrderState; to: OrderState };

/** The order's row, locked for the rest of the transaction; undefined when `owner` is set and is not its client. */
async function lockOrder(trx: Knex.Transaction, orderId: string, owner?: string): Promise<LockedOrder | undefined> {
  const row = parseRow(
    LockedOrder,
    await trx("orders").where({ order_id: orderId }).forUpdate().first("order_id", "client_id", "state"),
  );
  // Someone else's order is answered as one that does not exist (ids cannot be probed).
  return row && (owner === undefined || row.client_id === owner) ? row : undefined;
}

/**
 * Records a refund (`kind` "cancel": the client's, of everything left; "refund": the
 * operator's, of `lines` or everything left) with the order's new state, and returns its
 * units to product_details, in one transaction. The payment provider is asked afterwards
 * (the refund job, keyed by the refund id); until it answers, the refund is `pending`.
 *
 * `announced`: the products whose return the caller announced to the cache before this
 * call (a stock change begun, or tried). A line of any other product writes nothing and
 * answers `unannounced`: the caller read the order's products before it had them (the
 * API's placeholder of a checkout still running), and announces those before trying
 * again. Without `announced` the caller moves no cache level (the reconciler does).
 */
export async function recordRefund(
  db: Knex,
  orderId: string,
  request: {
    kind: "cancel" | "refund";
    lines?: RefundRequest["lines"];
    owner?: string;
    refundId?: string;
    announced?: ReadonlySet<string>;
  },
): Promise<RefundOutcome> {
  return withTransaction(db, async (trx) => {
    const order = await lockOrder(trx, orderId, request.owner);
    if (!order) return { kind: "not_found" };
    // A keyed retry whose first try committed (its answer lost, or a 503 after the
    // commit) finds its refund under the same id: answered again, never made twice.
    const earlier = request.refundId === undefined ? undefined : await recordedRefund(trx, orderId, request.refundId);
    if (earlier) return { ...earlier, from: order.state, to: order.state };
    // Every state a partial refund may leave also allows the whole refund: one gate for both.
    const gate: OrderState = request.kind === "cancel" ? "cancelled" : "refunded";
    if (!canTransition(order.state, gate)) return { kind: "refused", state: order.state };

    const left = await refundableUnits(trx, orderId);
    const asked: Array<[string, number]> = request.lines
      ? mergeLines(request.lines)
      : [...left].map(([productId, l]) => [productId, l.units]);
    const lines: RefundLineRecord[] = [];
    for (const [productId, quantity] of asked) {
      const line = left.get(productId);
      if (!line || quantity > line.units)
        return { kind: "exceeds", productId, requested: quantity, refundable: line?.units ?? 0 };
      if (quantity > 0) lines.push({ productId, quantity, amountCents: quantity * line.unitPriceCents });
    }
    const { announced } = request;
    const unannounced = announced ? lines.map((l) => l.productId).filter((id) => !announced.has(id)) : [];
    if (unannounced.length > 0) return { kind: "unannounced", productIds: unannounced };
    const unitsLeft = [...left.values()].reduce((sum, l) => sum + l.units, 0);
    const units = lines.reduce((sum, l) => sum + l.quantity, 0);
    const whole = units === unitsLeft;
    // A cancel takes what is left; a partial refund of a fulfilled or shipped order keeps its state.
    const to: OrderState =
      request.kind === "cancel"
        ? "cancelled"
        : whole
          ? "refunded"
          : order.state === "fulfilled" || order.state === "shipped"
            ? order.state
            : "partially_refunded";
    const amountCents = lines.reduce((sum, l) => sum + l.amountCents, 0);
    const moved = await transitionOrder(trx, orderId, order.state, to, {
      refunded_cents: trx.raw("refunded_cents + ?", [amountCents]),
    });
    if (!moved.ok) return { kind: "refused", state: order.state };

    const refundId = request.refundId ?? randomUUID();
    await trx("refunds").insert({
      refund_id: refundId,
      order_id: orderId,
      kind: request.kind,
      amount_cents: amountCents,
    });
    if (lines.length > 0) {
      await trx("refund_items").insert(
        lines.map((l) => ({
          refund_id: refundId,
          order_id: orderId,
          product_id: l.productId,
          quantity: l.quantity,
          amount_cents: l.amountCents,
        })),
      );
      await returnToStock(trx, lines);
    }
    await appendEvents(trx, [
      refundEvent(
        request.kind,
        { orderId, clientId: order.client_id, from: order.state, to },
        { refundId, amountCents, lines },
      ),
    ]);
    return {
      kind: "recorded",
      replayed: false,
      status: "pending",
      refundId,
      from: order.state,
      to,
      amountCents,
      lines,
    };
  });
}

async function recordedRefund(trx: Knex.Transaction, orderId: string, refundId: string) {
  const row = parseRow(
    RecordedRefund,
    await trx("refunds").where({ refund_id: refundId, order_id: orderId }).first("amount_cents", "status"),
  );
  if (!row) return undefined;
  const items = parseRows(RefundItem, await trx("refund_items").where({ refund_id: refundId }).orderBy("product_id"));
  const lines = items.map((i) => ({
    productId: i.product_id,
    quantity: i.quantity,
    amountCents: Number(i.amount_cents),
  }));
  return {
    kind: "recorded" as const,
    replayed: true,
    status: row.status,
    refundId,
    amountCents: Number(row.amount_cents),
    lines,
  };
}

/** Fulfil or ship: a move with no money and no stock in it. */
export async function moveOrder(
  db: Knex,
  orderId: string,
  to: "fulfilled" | "shipped",
  trackingRef?: string,
): Promise<MoveOutcome> {
  return withTransaction(db, async (trx) => {
    const order = await lockOrder(trx, orderId);
    if (!order) return { kind: "not_found" };
    const moved = await transitionOrder(
      trx,
      orderId,
      order.state,
      to,
      trackingRef === undefined ? {} : { tracking_ref: trackingRef },
    );
    if (!moved.ok) return { kind: "refused", state: order.state };
    if (order.state !== to)
      await appendEvents(trx, [moveEvent({ orderId, clientId: order.client_id, from: order.state }, to, trackingRef)]);
    return { kind: "moved", from: order.state, to };
  });
}

/** Per product of the order: units bought and not yet refunded, and the unit price paid. */
async function refundableUnits(
  trx: Knex.Transaction,
  orderId: string,
): Promise<Map<string, { units: number; unitPriceCents: number }>> {
  const items = parseRows(
    RefundableItem,
    await trx("order_items as i")
      .leftJoin(
        trx("refund_items")
          .where({ order_id: orderId })
          .groupBy("product_id")
          .select("product_id")
          .sum({ back: "quantity" })
          .as("r"),
        "r.product_id",
        "i.product_id",
      )
      .where("i.order_id", orderId)
      .orderBy("i.product_id")
      .select("i.product_id", "i.quantity", "i.unit_price_cents", "r.back"),
  );
  return new Map(
    items.map((i) => [i.product_id, { units: i.quantity - Number(i.back ?? 0), unitPriceCents: i.unit_price_cents }]),
  );
}

/** The same product listed twice asks for the sum of the two. */
function mergeLines(lines: NonNullable<RefundRequest["lines"]>): Array<[string, number]> {
  const merged = new Map<string, number>();
  for (const l of lines) merged.set(l.productID, (merged.get(l.productID) ?? 0) + l.quantity);
  return [...merged];
}

/**
 * The returned units go back to the warehouse level, as a restock does: MySQL first (in
 * the refund's transaction), the cache after the commit (lifecycle handlers). One UPDATE
 * for every line, so its row locks are taken in key order, as the flush takes them.
 */
async function returnToStock(trx: Knex.Transaction, lines: RefundLineRecord[]): Promise<void> {
  const cases = lines.map(() => "WHEN ? THEN ?").join(" ");
  await trx.raw(
    `UPDATE product_details SET quantity = quantity + CASE product_id ${cases} END WHERE product_id IN (${lines.map(() => "?").join(", ")})`,
    [...lines.flatMap((l) => [l.productId, l.quantity]), ...lines.map((l) => l.productId)],
  );
}

export interface RefundView {
  refundId: string;
  kind: "cancel" | "refund";
  amountCents: number;
  status: "pending" | "succeeded";
  providerRef: string | null;
  createdAt: Date;
  refundedAt: Date | null;
  lines: Array<{ productID: string; quantity: number; amountCents: number }>;
}

/** An order's refunds, oldest first, with their lines (GET /orders/:orderId shows them). */
export async function refundsOf(db: Knex, orderId: string): Promise<RefundView[]> {
  const refunds = parseRows(Refund, await db("refunds").where({ order_id: orderId }).orderBy("created_at"));
  if (refunds.length === 0) return [];
  const items = parseRows(RefundItem, await db("refund_items").where({ order_id: orderId }).orderBy("product_id"));
  return refunds.map((r) => ({
    refundId: r.refund_id,
    kind: r.kind,
    amountCents: Number(r.amount_cents),
    status: r.status,
    providerRef: r.provider_ref,
    createdAt: r.created_at,
    refundedAt: r.refunded_at,
    lines: items
      .filter((i) => i.refund_id === r.refund_id)
      .map((i) => ({ productID: i.product_id, quantity: i.quantity, amountCents: Number(i.amount_cents) })),
  }));
}
