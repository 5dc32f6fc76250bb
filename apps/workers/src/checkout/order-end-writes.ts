import { affectedRows, appendEvents, OrderState, rawRows, wasPaid, type Knex } from "@oms/shared";
import { z } from "zod";
import { caseOf, marks, tuples } from "../db/sql";
import type { WriteKind } from "../db/writer";
import type { Failure, Order } from "./order";
import { orderCompleted, orderFailed } from "../events/domain-events";
import { ORDER_COLUMNS, OrderRow, headOf } from "./order-rows";

const StateRow = z.object({ order_id: z.string(), state: OrderState });

/**
 * Ending checkout orders as group-commit kinds: completed (with reserve_purchase, the
 * cart emptied and the event) or failed. An order another path already ended is an
 * outcome, never a throw, so it does not fail the others in its batch.
 */
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
      const changed = affectedRows(
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
      rawRows(
        StateRow,
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
  const emptied = affectedRows(
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
      rawRows(
        OrderRow,
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
