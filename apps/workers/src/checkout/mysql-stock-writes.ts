import { appendEvents, type OrderState } from "@oms/shared";
import { caseOf, marks, rowsOf } from "../db/sql";
import type { WriteKind } from "../db/writer";
import type { FailureCode, Order } from "./order";
import { appendStockCrossings, orderFailed } from "../events/domain-events";

/**
 * The strongest MySQL-only reservation we could think of (batchedReservation, which the bench wires):
 * every checkout queued at the same time is reserved in one transaction, by conditional
 * decrements checked against the levels the batch locked once. Benchmark only: it shows
 * how close MySQL alone comes once its writes are batched too.
 */

interface LockedOrder {
  order_id: string;
  state: OrderState;
  stock_locked: number;
}

async function lockOrders(trx: Parameters<WriteKind<unknown, unknown>["run"]>[0], ids: string[]) {
  return new Map(
    rowsOf<LockedOrder>(
      await trx.raw(
        `SELECT order_id, state, stock_locked FROM orders WHERE order_id IN (${marks(ids.length)}) FOR UPDATE`,
        ids,
      ),
    ).map((r) => [r.order_id, r]),
  );
}

export type ReserveInMysqlOutcome =
  | { ok: true }
  | { ok: false; reason: "insufficient_stock"; productId: string; available: number }
  | { ok: false; reason: "order_ended" };

/**
 * Reserves each order's lines, all or none, in the order they came; replays find the stock
 * already taken. A product the batch takes to STOCK_LOW_THRESHOLD (`lowThreshold`) or 0 emits its event.
 */
export const reserveInMysql: WriteKind<{ order: Order; lowThreshold?: number }, ReserveInMysqlOutcome> = {
  name: "reserveInMysql",
  async run(trx, ops) {
    const orders = await lockOrders(
      trx,
      ops.map((o) => o.order.orderId),
    );
    const productIds = [...new Set(ops.flatMap((o) => o.order.items.map((i) => i.productId)))].sort();
    const levels = new Map(
      rowsOf<{ product_id: string; quantity: number }>(
        await trx.raw(
          `SELECT product_id, quantity FROM product_details WHERE product_id IN (${marks(productIds.length)}) ORDER BY product_id FOR UPDATE`,
          productIds,
        ),
      ).map((r) => [r.product_id, r.quantity]),
    );
    const taken = new Map<string, number>();
    const locked: string[] = [];
    const outcomes = ops.map(({ order }): ReserveInMysqlOutcome => {
      const row = orders.get(order.orderId);
      if (row?.stock_locked) return { ok: true };
      if (!row || row.state !== "pending") return { ok: false, reason: "order_ended" };
      for (const item of order.items) {
        const level = levels.get(item.productId) ?? 0;
        if (level < item.quantity)
          return { ok: false, reason: "insufficient_stock", productId: item.productId, available: level };
      }
      for (const item of order.items) {
        levels.set(item.productId, (levels.get(item.productId) ?? 0) - item.quantity);
        taken.set(item.productId, (taken.get(item.productId) ?? 0) + item.quantity);
      }
      row.stock_locked = 1;
      locked.push(order.orderId);
      return { ok: true };
    });
    if (locked.length > 0) {
      const [units, unitArgs] = caseOf("product_id", [...taken]);
      await trx.raw(
        `UPDATE product_details SET quantity = quantity - ${units} WHERE product_id IN (${marks(taken.size)})`,
        [...unitArgs, ...taken.keys()],
      );
      await trx.raw(`UPDATE orders SET stock_locked = 1 WHERE order_id IN (${marks(locked.length)})`, locked);
      await appendStockCrossings(trx, taken, ops[0]?.lowThreshold ?? 0);
    }
    return outcomes;
  },
};

/** Ends a reserved order as failed and puts its units back; a replay finds nothing held. */
export const releaseInMysql: WriteKind<{ order: Order; code: FailureCode; reason: string }, boolean> = {
  name: "releaseInMysql",
  async run(trx, ops) {
    const orders = await lockOrders(
      trx,
      ops.map((o) => o.order.orderId),
    );
    const returned = new Map<string, number>();
    const ended: Array<{ orderId: string; clientId: string; code: FailureCode; reason: string }> = [];
    const outcomes = ops.map(({ order, code, reason }) => {
      const row = orders.get(order.orderId);
      if (!row || row.state !== "pending") return false;
      if (row.stock_locked)
        for (const item of order.items)
          returned.set(item.productId, (returned.get(item.productId) ?? 0) + item.quantity);
      row.state = "failed";
      row.stock_locked = 0;
      ended.push({ orderId: order.orderId, clientId: order.clientId, code, reason: reason.slice(0, 500) });
      return true;
    });
    if (returned.size > 0) {
      const [units, unitArgs] = caseOf("product_id", [...returned]);
      await trx.raw(
        `UPDATE product_details SET quantity = quantity + ${units} WHERE product_id IN (${marks(returned.size)})`,
        [...unitArgs, ...returned.keys()],
      );
    }
    if (ended.length > 0) {
      const [codes, codeArgs] = caseOf(
        "order_id",
        ended.map((e) => [e.orderId, e.code] as const),
      );
      const [reasons, reasonArgs] = caseOf(
        "order_id",
        ended.map((e) => [e.orderId, e.reason] as const),
      );
      await trx.raw(
        `UPDATE orders SET state = 'failed', stock_locked = 0, failure_code = ${codes}, failure_reason = ${reasons} WHERE order_id IN (${marks(ended.length)})`,
        [...codeArgs, ...reasonArgs, ...ended.map((e) => e.orderId)],
      );
      await appendEvents(
        trx,
        ended.map((e) => orderFailed(e.orderId, e.clientId, e)),
      );
    }
    return outcomes;
  },
};
