import {
  appendEvents,
  wasPaid,
  withTransaction,
  type CheckoutJob,
  type CheckoutResult,
  type WorkerConfig,
  type Keyspace,
  type Knex,
  type RedisClient,
} from "@oms/shared";
import { releaseCheckoutLock } from "@oms/inventory";
import type { PaymentProvider } from "../payment/provider";
import type { Order, OrderStore } from "./order-store";
import { appendStockCrossings, orderFailed } from "../events/domain-events";

/**
 * The classic design, kept as the benchmark's baseline (the bench wires it: lockingReservation):
 * the reservation is one MySQL transaction that locks the product rows, checks and
 * decrements them, as the original service did but without its lost updates. Payment
 * runs outside the lock; a decline puts the units back in a second transaction. The
 * order writes (create, commit) are the saga's own, batched: only the reservation differs.
 */
export interface LockingCheckoutDeps {
  db: Knex;
  orders: OrderStore;
  payment: PaymentProvider;
  redis: RedisClient;
  keys: Keyspace;
  config: Pick<WorkerConfig, "STOCK_LOW_THRESHOLD">;
}

/**
 * Ends like the saga does: an order in a final state frees the client's checkout lock
 * that the API took, so the client's next checkout runs instead of joining this one.
 */
export async function runLockingCheckout(job: CheckoutJob, deps: LockingCheckoutDeps): Promise<CheckoutResult> {
  const { orderId } = job;
  const created = await deps.orders.createPending(orderId, job.clientId);
  // Busy: the lock belongs to the checkout in progress, which frees it when it ends.
  if (created.kind === "busy")
    return { outcome: "failed", orderId, reason: `another checkout is in progress (order ${created.otherOrderId})` };
  const result =
    created.kind === "empty_cart"
      ? { outcome: "empty_cart" as const, orderId }
      : await lockAndCharge(created.order, deps, job.paymentToken);
  await releaseCheckoutLock(deps.redis, deps.keys.checkoutLock(job.clientId), orderId);
  return result;
}

async function lockAndCharge(
  order: Order,
  { db, orders, payment, config }: LockingCheckoutDeps,
  paymentToken: string,
): Promise<CheckoutResult> {
  const { orderId } = order;
  if (wasPaid(order.state)) return { outcome: "completed", orderId, totalCents: order.totalCents };
  if (order.state === "failed") return { outcome: "failed", orderId, reason: order.failureReason ?? "failed" };

  const short = await reserveWithRowLocks(db, orderId, order.items, config.STOCK_LOW_THRESHOLD);
  if (short) {
    await orders.fail(orderId, "out_of_stock", `not enough stock of ${short.productId}: ${short.available} available`);
    return { outcome: "out_of_stock", orderId, productId: short.productId, available: short.available };
  }

  const charge = await payment.charge({
    idempotencyKey: orderId,
    orderId,
    amountCents: order.totalCents,
    token: paymentToken,
  });
  if (charge.status !== "succeeded") {
    const ended = await withTransaction(db, async (trx) => {
      const released = await trx("orders")
        .where({ order_id: orderId, stock_locked: 1, state: "pending" })
        .update({ stock_locked: 0 });
      if (released === 0) return false;
      for (const item of order.items)
        await trx("product_details").where({ product_id: item.productId }).increment("quantity", item.quantity);
      await trx("orders")
        .where({ order_id: orderId, state: "pending" })
        .update({ state: "failed", failure_code: "payment_declined", failure_reason: "payment declined" });
      await appendEvents(trx, [
        orderFailed(orderId, order.clientId, { code: "payment_declined", reason: "payment declined" }),
      ]);
      return true;
    });
    if (ended) await orders.ended("payment_declined");
    return { outcome: "declined", orderId, reason: "payment declined" };
  }
  // The same batched commit as the saga's, without the flush: the stock is already taken.
  await orders.complete(order, charge.reference, { stockTaken: true });
  return { outcome: "completed", orderId, totalCents: order.totalCents };
}

/**
 * The classic reservation: one transaction that locks the order row, then the product
 * rows in id order, checks and decrements them, records the low-stock crossings and
 * marks the order; null when reserved (now or by an earlier attempt), else the first
 * product short of stock. The benchmark's MySQL ceiling runs it alone.
 */
export async function reserveWithRowLocks(
  db: Knex,
  orderId: string,
  items: Array<{ productId: string; quantity: number }>,
  lowStockThreshold: number,
): Promise<{ productId: string; available: number } | null> {
  return withTransaction(db, async (trx) => {
    // Replays find the reservation already taken, recorded on the order in this transaction.
    const locked = (await trx("orders").where({ order_id: orderId }).forUpdate().first("stock_locked")) as
      { stock_locked: number } | undefined;
    if (locked?.stock_locked) return null;
    const ids = items.map((i) => i.productId).sort();
    const rows = (await trx("product_details")
      .whereIn("product_id", ids)
      .orderBy("product_id")
      .forUpdate()
      .select("product_id", "quantity")) as Array<{
      product_id: string;
      quantity: number;
    }>;
    const stock = new Map(rows.map((r) => [r.product_id, r.quantity]));
    for (const item of items) {
      const available = stock.get(item.productId) ?? 0;
      if (available < item.quantity) return { productId: item.productId, available };
    }
    for (const item of items)
      await trx("product_details").where({ product_id: item.productId }).decrement("quantity", item.quantity);
    await trx("orders").where({ order_id: orderId }).update({ stock_locked: 1 });
    const taken = new Map(items.map((i) => [i.productId, i.quantity]));
    await appendStockCrossings(trx, taken, lowStockThreshold);
    return null;
  });
}
