import { releaseCheckoutLock } from "@oms/inventory";
import { wasPaid, type CheckoutJob, type CheckoutResult } from "@oms/shared";
import type { GroupCommitWriter } from "../db/writer";
import type { LockingCheckoutDeps } from "./locking-saga";
import { releaseInMysql, reserveInMysql } from "./mysql-stock-writes";

export interface BatchedCheckoutDeps extends Omit<LockingCheckoutDeps, "db"> {
  writer: GroupCommitWriter;
}

/**
 * The strongest MySQL-only design (batchedReservation, wired by the bench only): the
 * same saga shape and batched order writes as ours, with the reservation a conditional
 * decrement of product_details applied per group-commit batch instead of a Lua script.
 */
export async function runBatchedCheckout(job: CheckoutJob, deps: BatchedCheckoutDeps): Promise<CheckoutResult> {
  const { orderId } = job;
  const unlock = () => releaseCheckoutLock(deps.redis, deps.keys.checkoutLock(job.clientId), orderId);
  const created = await deps.orders.createPending(orderId, job.clientId);
  if (created.kind === "busy")
    return { outcome: "failed", orderId, reason: `another checkout is in progress (order ${created.otherOrderId})` };
  if (created.kind === "empty_cart") {
    await unlock();
    return { outcome: "empty_cart", orderId };
  }
  const { order } = created;
  const result = await (async (): Promise<CheckoutResult> => {
    if (wasPaid(order.state)) return { outcome: "completed", orderId, totalCents: order.totalCents };
    if (order.state === "failed") return { outcome: "failed", orderId, reason: order.failureReason ?? "failed" };
    const reserved = await deps.writer.submit(reserveInMysql, { order, lowThreshold: deps.config.STOCK_LOW_THRESHOLD });
    if (!reserved.ok) {
      if (reserved.reason === "order_ended") return { outcome: "failed", orderId, reason: "the order ended" };
      const reason = `not enough stock of ${reserved.productId}: ${reserved.available} available`;
      await deps.orders.fail(orderId, "out_of_stock", reason);
      return { outcome: "out_of_stock", orderId, productId: reserved.productId, available: reserved.available };
    }
    const charge = await deps.payment.charge({
      idempotencyKey: orderId,
      orderId,
      amountCents: order.totalCents,
      token: job.paymentToken,
    });
    if (charge.status !== "succeeded") {
      const released = await deps.writer.submit(releaseInMysql, {
        order,
        code: "payment_declined",
        reason: "payment declined",
      });
      // Ended by this design's own write, not the order store's: count it as the store would.
      if (released) await deps.orders.ended("payment_declined");
      return { outcome: "declined", orderId, reason: "payment declined" };
    }
    await deps.orders.complete(order, charge.reference, { stockTaken: true });
    return { outcome: "completed", orderId, totalCents: order.totalCents };
  })();
  await unlock();
  return result;
}
