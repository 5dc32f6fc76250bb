import { appendEvents, wasPaid, type Knex, type OrderState } from "@oms/shared";
import { affected, caseOf, marks, rowsOf, tuples } from "../db/sql";
import type { WriteKind } from "../db/writer";
import type { CreateOrderResult, Failure, FailureCode, Order, OrderItem } from "./order";
import { orderCompleted, orderFailed } from "../events/domain-events";

/**
 * The checkout's MySQL writes as group-commit kinds: each takes every queued order of
 * its kind and writes them with multi-row statements inside the batch's transaction.
 * Replays and orders that another path already ended are outcomes, never throws, so
 * one order's conflict does not fail the others in its batch.
 */

export interface OrderRow {
  order_id: string;
  client_id: string;
  state: OrderState;
  total_cents: number | string;
  payment_ref: string | null;
  failure_code: string | null;
  failure_reason: string | null;
  failure_product_id: string | null;
  failure_available: number | null;
}

interface ItemRow {
  order_id: string;
  product_id: string;
  quantity: number;
  unit_price_cents: number;
}

const ORDER_COLUMNS =
  "order_id, client_id, state, total_cents, payment_ref, failure_code, failure_reason, failure_product_id, failure_available";

export function toOrder(row: OrderRow, items: ReadonlyArray<Omit<ItemRow, "order_id">>): Order {
  return {
    orderId: row.order_id,
    clientId: row.client_id,
    state: row.state,
    totalCents: Number(row.total_cents),
    paymentRef: row.payment_ref,
    failureCode: row.failure_code,
    failureReason: row.failure_reason,
    failureProductId: row.failure_product_id ?? null,
    failureAvailable: row.failure_available ?? null,
    items: items.map((i) => ({ productId: i.product_id, quantity: i.quantity, unitPriceCents: i.unit_price_cents })),
  };
}

export interface CreatePendingOp {
  orderId: string;
  clientId: string;
}

/**
 * Snapshots each client's cart into a pending order with its prices; idempotent by
 * order id. The clients' cart rows are locked (in key order, the same in every
 * process), so a second checkout of the same cart elsewhere waits, then sees the first
 * pending order and backs off. A refusal (empty cart, another checkout running) writes
 * nothing, unless the API already recorded the order (it answered 202): then that
 * order ends failed, so every order a client was told about ends in a state MySQL knows.
 */
export const createPendingOrders: WriteKind<CreatePendingOp, CreateOrderResult> = {
  name: "createPendingOrders",
  async run(trx, ops) {
    const orderIds = [...new Set(ops.map((o) => o.orderId))];
    const clients = [...new Set(ops.map((o) => o.clientId))];
    // The prices come in the same statement, from a subquery: a locking read does not
    // lock the rows its subqueries read, so only the cart rows are locked, never the
    // product rows every checkout of a hot product shares.
    const cartRows = rowsOf<{ client_id: string; product_id: string; quantity: number; price_cents: number | null }>(
      await trx.raw(
        `SELECT c.client_id, c.product_id, c.quantity, (SELECT p.price_cents FROM product_details p WHERE p.product_id = c.product_id) AS price_cents FROM client_cart c WHERE c.client_id IN (${marks(clients.length)}) ORDER BY c.client_id, c.product_id FOR UPDATE`,
        clients,
      ),
    );
    const priceOf = new Map(cartRows.map((r) => [r.product_id, r.price_cents ?? 0]));
    const known = rowsOf<OrderRow>(
      await trx.raw(
        `SELECT ${ORDER_COLUMNS} FROM orders WHERE order_id IN (${marks(orderIds.length)}) OR (client_id IN (${marks(clients.length)}) AND state = 'pending')`,
        [...orderIds, ...clients],
      ),
    );
    const ours = new Map(known.filter((r) => orderIds.includes(r.order_id)).map((r) => [r.order_id, r]));
    const itemsOf = await itemsByOrder(trx, [...ours.keys()]);
    const cartOf = groupBy(cartRows, (r) => r.client_id);
    const pendingOf = new Map<string, string[]>();
    for (const r of known)
      if (r.state === "pending") pendingOf.set(r.client_id, [...(pendingOf.get(r.client_id) ?? []), r.order_id]);

    type Plan =
      | { kind: "done"; result: CreateOrderResult }
      | { kind: "same"; as: number }
      | {
          kind: "create";
          op: CreatePendingOp;
          placeholder: boolean;
          lines: Array<{ product_id: string; quantity: number }>;
        };
    const plans: Plan[] = [];
    const byOrder = new Map<string, number>();
    const refusals: Array<{ orderId: string; clientId: string; code: FailureCode; reason: string }> = [];
    for (const op of ops) {
      const earlier = byOrder.get(op.orderId);
      if (earlier !== undefined) {
        // The same order twice in one batch (two deliveries of one job): one outcome.
        plans.push({ kind: "same", as: earlier });
        continue;
      }
      byOrder.set(op.orderId, plans.length);
      const row = ours.get(op.orderId);
      const items = itemsOf.get(op.orderId) ?? [];
      // A placeholder (pending, no items) is what the API records when it answers 202
      // before a worker got here: fill it in; anything else is an earlier delivery's order.
      // Another client's order is never this checkout's placeholder: answer it as it
      // stands, and the saga's ownership check refuses it for good.
      const placeholder = row?.state === "pending" && items.length === 0 && row.client_id === op.clientId;
      if (row && !placeholder) {
        plans.push({ kind: "done", result: { kind: "existing", order: toOrder(row, items) } });
        continue;
      }
      const cart = cartOf.get(op.clientId) ?? [];
      if (cart.length === 0) {
        if (placeholder)
          refusals.push({
            orderId: op.orderId,
            clientId: op.clientId,
            code: "empty_cart",
            reason: "the cart was empty",
          });
        plans.push({ kind: "done", result: { kind: "empty_cart" } });
        continue;
      }
      const other = (pendingOf.get(op.clientId) ?? []).find((id) => id !== op.orderId);
      if (other) {
        if (placeholder)
          refusals.push({
            orderId: op.orderId,
            clientId: op.clientId,
            code: "checkout_in_progress",
            reason: `another checkout of this cart is in progress (order ${other})`,
          });
        plans.push({ kind: "done", result: { kind: "busy", otherOrderId: other } });
        continue;
      }
      pendingOf.set(op.clientId, [op.orderId]);
      plans.push({ kind: "create", op, placeholder, lines: cart });
    }

    const creates = plans.flatMap((p) => (p.kind === "create" ? [p] : []));
    const orders = creates.map((c) => {
      const items: OrderItem[] = c.lines.map((l) => ({
        productId: l.product_id,
        quantity: l.quantity,
        unitPriceCents: priceOf.get(l.product_id) ?? 0,
      }));
      const order: Order = {
        orderId: c.op.orderId,
        clientId: c.op.clientId,
        state: "pending",
        totalCents: items.reduce((sum, i) => sum + i.quantity * i.unitPriceCents, 0),
        paymentRef: null,
        failureCode: null,
        failureReason: null,
        failureProductId: null,
        failureAvailable: null,
        items,
      };
      return order;
    });
    if (orders.length > 0) {
      // A placeholder row is filled in by the same statement (its total was 0).
      await trx.raw(
        `INSERT INTO orders (order_id, client_id, state, total_cents) VALUES ${tuples(orders.length, 4)} ON DUPLICATE KEY UPDATE total_cents = VALUES(total_cents)`,
        orders.flatMap((o) => [o.orderId, o.clientId, "pending", o.totalCents]),
      );
      const items = orders.flatMap((o) => o.items.map((i) => [o.orderId, i.productId, i.quantity, i.unitPriceCents]));
      await trx.raw(
        `INSERT INTO order_items (order_id, product_id, quantity, unit_price_cents) VALUES ${tuples(items.length, 4)}`,
        items.flat(),
      );
    }
    for (const r of refusals) {
      await trx.raw(
        "UPDATE orders SET state = 'failed', failure_code = ?, failure_reason = ? WHERE order_id = ? AND state = 'pending'",
        [r.code, r.reason, r.orderId],
      );
    }
    // The placeholder was pending (locked with the cart rows above): each UPDATE ended it.
    await appendEvents(
      trx,
      refusals.map((r) => orderFailed(r.orderId, r.clientId, r)),
    );
    let created = 0;
    const results: CreateOrderResult[] = [];
    for (const p of plans) {
      if (p.kind === "done") results.push(p.result);
      else if (p.kind === "same") {
        const first = results[p.as];
        if (!first) throw new Error("createPendingOrders: an order's first op has no outcome");
        results.push(first.kind === "created" ? { kind: "existing", order: first.order } : first);
      } else {
        const order = orders[created++];
        if (!order) throw new Error("createPendingOrders lost an order");
        results.push({ kind: "created", order });
      }
    }
    return results;
  },
};

export interface CompleteOp {
  order: Order;
  paymentRef: string;
  /** The classic design took the stock from product_details itself: nothing to flush. */
  stockTaken?: boolean;
}

export type CompleteOutcome = "completed" | "already_completed" | "already_failed";

/**
 * The commit: marks each order completed with its payment reference, records its
 * pending stock decrements in reserve_purchase, and takes the bought quantities out of
 * the cart. An order that already ended is reported as it ended and changes nothing.
 */
export const completeOrders: WriteKind<CompleteOp, CompleteOutcome> = {
  name: "completeOrders",
  async run(trx, ops) {
    const ids = [...new Set(ops.map((o) => o.order.orderId))];
    if (ids.length > 1 && ids.length === ops.length) {
      // The common case, one statement fewer: every order is still pending. If one is
      // not (a replay, an order the final-failure path ended), the batch is written
      // again one op at a time, where each order is looked at before it is changed.
      const [refs, refArgs] = caseOf(
        "order_id",
        ops.map((c) => [c.order.orderId, c.paymentRef] as const),
      );
      const changed = affected(
        await trx.raw(
          `UPDATE orders SET state = 'completed', payment_ref = ${refs}, completed_at = NOW(3) WHERE order_id IN (${marks(ids.length)}) AND state = 'pending'`,
          [...refArgs, ...ids],
        ),
      );
      if (changed !== ids.length) throw new OrderEndedInBatchError();
      await recordCommits(trx, ops);
      return ops.map(() => "completed");
    }
    const states = new Map(
      rowsOf<{ order_id: string; state: OrderState }>(
        await trx.raw(`SELECT order_id, state FROM orders WHERE order_id IN (${marks(ids.length)}) FOR UPDATE`, ids),
      ).map((r) => [r.order_id, r.state]),
    );
    const outcomes: CompleteOutcome[] = [];
    const completing: CompleteOp[] = [];
    for (const op of ops) {
      const state = states.get(op.order.orderId);
      if (state === "pending") {
        completing.push(op);
        states.set(op.order.orderId, "completed");
        outcomes.push("completed");
      } else outcomes.push(state !== undefined && wasPaid(state) ? "already_completed" : "already_failed");
    }
    if (completing.length === 0) return outcomes;

    const [refs, refArgs] = caseOf(
      "order_id",
      completing.map((c) => [c.order.orderId, c.paymentRef] as const),
    );
    const completingIds = completing.map((c) => c.order.orderId);
    await trx.raw(
      `UPDATE orders SET state = 'completed', payment_ref = ${refs}, completed_at = NOW(3) WHERE order_id IN (${marks(completingIds.length)})`,
      [...refArgs, ...completingIds],
    );
    await recordCommits(trx, completing);
    return outcomes;
  },
};

/** A batched commit met an order that is no longer pending: the writer writes the batch again op by op. */
export class OrderEndedInBatchError extends Error {
  constructor() {
    super("an order of the batch had already ended");
    this.name = "OrderEndedInBatchError";
  }
}

/** The rest of a commit, for orders just completed: decrements owed to the flush, carts emptied, events. */
async function recordCommits(trx: Knex.Transaction, completing: readonly CompleteOp[]): Promise<void> {
  await appendEvents(
    trx,
    completing.map((c) => orderCompleted(c.order, c.paymentRef)),
  );
  const lines = completing.flatMap((c) =>
    c.order.items.map((i) => ({ orderId: c.order.orderId, clientId: c.order.clientId, ...i })),
  );
  const owed = completing
    .filter((c) => !c.stockTaken)
    .flatMap((c) => c.order.items.map((i) => [c.order.orderId, i.productId, i.quantity]));
  if (owed.length > 0)
    await trx.raw(
      `INSERT INTO reserve_purchase (reserve_id, product_id, quantity) VALUES ${tuples(owed.length, 3)}`,
      owed.flat(),
    );
  // Lines the orders took whole go in one DELETE; a line the client added to since
  // the snapshot keeps the difference.
  const emptied = affected(
    await trx.raw(
      `DELETE FROM client_cart WHERE ${lines.map(() => "(client_id = ? AND product_id = ? AND quantity <= ?)").join(" OR ")}`,
      lines.flatMap((l) => [l.clientId, l.productId, l.quantity]),
    ),
  );
  if (emptied < lines.length) {
    for (const l of lines) {
      await trx.raw(
        "UPDATE client_cart SET quantity = quantity - ? WHERE client_id = ? AND product_id = ? AND quantity > ?",
        [l.quantity, l.clientId, l.productId, l.quantity],
      );
    }
  }
}

export interface FailOp extends Failure {
  orderId: string;
}

/** The order as it stands after the fail: ended by this call, or as another path ended it. */
export interface FailOutcome {
  changed: boolean;
  order: Omit<Order, "items"> | null;
}

/** Ends pending orders as failed; an order that already ended keeps its state and is reported as it is. */
export const failOrders: WriteKind<FailOp, FailOutcome> = {
  name: "failOrders",
  async run(trx, ops) {
    const ids = [...new Set(ops.map((o) => o.orderId))];
    const rows = new Map(
      rowsOf<OrderRow>(
        await trx.raw(`SELECT ${ORDER_COLUMNS} FROM orders WHERE order_id IN (${marks(ids.length)}) FOR UPDATE`, ids),
      ).map((r) => [r.order_id, r]),
    );
    const failing: FailOp[] = [];
    const outcomes = ops.map((op): FailOutcome => {
      const row = rows.get(op.orderId);
      if (!row) return { changed: false, order: null };
      if (row.state !== "pending") return { changed: false, order: headOf(row) };
      const reason = op.reason.slice(0, 500);
      const ended: OrderRow = {
        ...row,
        state: "failed",
        failure_code: op.code,
        failure_reason: reason,
        failure_product_id: op.productId ?? null,
        failure_available: op.available ?? null,
      };
      rows.set(op.orderId, ended);
      failing.push({ ...op, reason });
      return { changed: true, order: headOf(ended) };
    });
    if (failing.length > 0) {
      const [codes, codeArgs] = caseOf(
        "order_id",
        failing.map((f) => [f.orderId, f.code] as const),
      );
      const [reasons, reasonArgs] = caseOf(
        "order_id",
        failing.map((f) => [f.orderId, f.reason] as const),
      );
      const [products, productArgs] = caseOf(
        "order_id",
        failing.map((f) => [f.orderId, f.productId ?? null] as const),
      );
      const [available, availableArgs] = caseOf(
        "order_id",
        failing.map((f) => [f.orderId, f.available ?? null] as const),
      );
      const failingIds = failing.map((f) => f.orderId);
      await trx.raw(
        `UPDATE orders SET state = 'failed', failure_code = ${codes}, failure_reason = ${reasons}, failure_product_id = ${products}, failure_available = ${available} WHERE order_id IN (${marks(failingIds.length)})`,
        [...codeArgs, ...reasonArgs, ...productArgs, ...availableArgs, ...failingIds],
      );
      await appendEvents(
        trx,
        failing.map((f) => orderFailed(f.orderId, rows.get(f.orderId)?.client_id ?? "", f)),
      );
    }
    return outcomes;
  },
};

function headOf(row: OrderRow): Omit<Order, "items"> {
  const { items: _items, ...head } = toOrder(row, []);
  return head;
}

async function itemsByOrder(trx: Knex.Transaction, orderIds: string[]): Promise<Map<string, ItemRow[]>> {
  if (orderIds.length === 0) return new Map();
  const rows = rowsOf<ItemRow>(
    await trx.raw(
      `SELECT order_id, product_id, quantity, unit_price_cents FROM order_items WHERE order_id IN (${marks(orderIds.length)}) ORDER BY order_id, product_id`,
      orderIds,
    ),
  );
  return groupBy(rows, (r) => r.order_id);
}

function groupBy<T>(rows: readonly T[], keyOf: (row: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const row of rows) {
    const key = keyOf(row);
    const group = groups.get(key);
    if (group) group.push(row);
    else groups.set(key, [row]);
  }
  return groups;
}
