import type { CheckoutJob, CheckoutResult, Keyspace, Logger } from "@oms/shared";
import { releaseCheckoutLock, type InventoryEngine } from "@oms/inventory";
import type { Redis } from "ioredis";
import type { PaymentProvider } from "../payment/provider";
import type { Order, OrderStore } from "./order-store";

/** The points between saga steps where a worker may die; each must be safe to resume from. */
export const SAGA_STEPS = ["created", "reserved", "committing", "charged", "committed", "finished"] as const;
export type SagaStep = (typeof SAGA_STEPS)[number];

export interface SagaDeps {
  orders: OrderStore;
  engine: InventoryEngine;
  payment: PaymentProvider;
  redis: Redis;
  keys: Keyspace;
  holdTtlMs: number;
  /** Asks the inventory queue to apply committed decrements to MySQL soon. */
  requestFlush(): Promise<void>;
  logger: Logger;
  /** Seconds the reservation took (for the latency histogram). */
  observeReservation?(seconds: number): void;
  /** Called after each step; the chaos suite uses it to kill the process at a chosen step. */
  checkpoint?(step: SagaStep): Promise<void>;
}

/**
 * reserve -> begin commit -> charge -> commit -> finish, or release (and refund).
 * Every step is safe to replay: the order id is the reservation id and the payment's
 * idempotency key, and each step first looks at what an earlier delivery left.
 * Transient failures throw, so BullMQ delivers the job again.
 */
export async function runCheckout(job: CheckoutJob, deps: SagaDeps): Promise<CheckoutResult> {
  const { orders, engine, payment } = deps;
  const { orderId } = job;
  const log = deps.logger.child({ orderId, clientId: job.clientId, requestId: job.requestId });

  const created = await orders.createPending(orderId, job.clientId);
  if (created.kind === "empty_cart") {
    await unlock(deps, job);
    return { outcome: "empty_cart", orderId };
  }
  if (created.kind === "busy") {
    return {
      outcome: "failed",
      orderId,
      reason: `another checkout of this cart is in progress (order ${created.otherOrderId})`,
    };
  }
  const order = created.order;
  await deps.checkpoint?.("created");
  if (order.clientId !== job.clientId) throw new Error(`order ${orderId} belongs to another client`);
  if (order.state !== "pending") return finished(order, deps, job);

  const reserveStart = performance.now();
  const reserved = await engine.reserve(orderId, order.items, deps.holdTtlMs);
  deps.observeReservation?.((performance.now() - reserveStart) / 1000);
  if (!reserved.ok) {
    switch (reserved.reason) {
      case "insufficient_stock":
        return endFailed(
          deps,
          job,
          "out_of_stock",
          `not enough stock of ${reserved.productId}: ${reserved.available} available`,
          {
            outcome: "out_of_stock",
            orderId,
            productId: reserved.productId,
            available: reserved.available,
          },
        );
      case "unknown_product":
        return endFailed(deps, job, "unknown_product", `unknown product ${reserved.productId}`);
      case "hold_released":
        return endAfterRelease(deps, job);
    }
  }

  await deps.checkpoint?.("reserved");
  const begun = await engine.beginCommit(orderId);
  if (!begun.ok) {
    // The hold is gone from Redis (its data was lost): reserve again on the next delivery.
    if (begun.reason === "hold_not_found") throw new Error(`hold of order ${orderId} vanished before payment`);
    return endAfterRelease(deps, job);
  }

  await deps.checkpoint?.("committing");
  const charge = await payment.charge({
    idempotencyKey: orderId,
    orderId,
    amountCents: order.totalCents,
    token: job.paymentToken,
  });
  if (charge.status !== "succeeded") {
    // Release before failing the order: a crash in between leaves a pending order
    // whose replay ends it, never a committing hold that nothing releases.
    await engine.release(orderId);
    const reason = charge.status === "declined" ? `payment declined: ${charge.reason}` : "payment was refunded";
    return endFailed(deps, job, "payment_declined", reason, { outcome: "declined", orderId, reason });
  }

  await deps.checkpoint?.("charged");
  const committed = await orders.complete(order, charge.reference);
  if (committed === "already_failed") {
    // Someone ended the order (final-failure path) while we charged: undo the charge.
    await payment.refund(orderId);
    await engine.release(orderId);
    const ended = await orders.get(orderId);
    return ended ? finished(ended, deps, job) : { outcome: "failed", orderId, reason: "order vanished" };
  }
  // If Redis lost the hold, MySQL's reserve_purchase still counts the sale when the cache reloads.
  await deps.checkpoint?.("committed");
  await engine.commit(orderId);
  await deps.checkpoint?.("finished");
  // One round trip for the three: the cart changed in MySQL, so the API's copy goes
  // (the next add rebuilds it), and is gone before the lock is, as they are sent in order.
  await Promise.all([deps.redis.del(deps.keys.cartMirror(job.clientId)), unlock(deps, job), deps.requestFlush()]);
  log.info({ totalCents: order.totalCents }, "order completed");
  return { outcome: "completed", orderId, totalCents: order.totalCents };
}

/**
 * The final-failure path: the job will not be delivered again. Release the hold,
 * refund a charge that went through, and end the order as failed, unless it
 * already completed.
 */
export async function compensateCheckout(job: CheckoutJob, deps: SagaDeps, reason: string): Promise<CheckoutResult> {
  const order = await deps.orders.get(job.orderId);
  if (order && order.state !== "pending") return finished(order, deps, job);
  await deps.engine.release(job.orderId);
  // Fail first: a refund that cannot be made now is retried by the sweep of stranded
  // charges, while an order left pending would block the client's next checkout.
  if (order) await deps.orders.fail(job.orderId, "checkout_failed", reason);
  await unlock(deps, job);
  await deps.payment.refund(job.orderId);
  return { outcome: "failed", orderId: job.orderId, reason };
}

/** The order ended on an earlier delivery: make sure its side effects finished, answer as it ended. */
async function finished(order: Order, deps: SagaDeps, job: CheckoutJob): Promise<CheckoutResult> {
  if (order.state === "completed") {
    await deps.engine.commit(order.orderId);
    await deps.requestFlush();
    await deps.redis.del(deps.keys.cartMirror(job.clientId));
    await unlock(deps, job);
    return { outcome: "completed", orderId: order.orderId, totalCents: order.totalCents };
  }
  await deps.engine.release(order.orderId);
  // A delivery may have charged, then died before its refund: refunding nothing is a no-op.
  await deps.payment.refund(order.orderId);
  await unlock(deps, job);
  return resultOfFailure(order);
}

async function endAfterRelease(deps: SagaDeps, job: CheckoutJob): Promise<CheckoutResult> {
  return endFailed(deps, job, "hold_expired", "the stock reservation expired before payment");
}

async function endFailed(
  deps: SagaDeps,
  job: CheckoutJob,
  code: Parameters<OrderStore["fail"]>[1],
  reason: string,
  result?: CheckoutResult,
): Promise<CheckoutResult> {
  const { order } = await deps.orders.failAndRead(job.orderId, code, reason);
  await unlock(deps, job);
  if (order && order.state === "completed")
    return { outcome: "completed", orderId: order.orderId, totalCents: order.totalCents };
  if (order && order.failureCode !== code) return resultOfFailure(order);
  return result ?? { outcome: "failed", orderId: job.orderId, reason };
}

function resultOfFailure(order: Omit<Order, "items">): CheckoutResult {
  const reason = order.failureReason ?? "failed";
  switch (order.failureCode) {
    case "payment_declined":
      return { outcome: "declined", orderId: order.orderId, reason };
    case "empty_cart":
      return { outcome: "empty_cart", orderId: order.orderId };
    case "out_of_stock": {
      const productId = /stock of (.+): /.exec(reason)?.[1] ?? "";
      return { outcome: "out_of_stock", orderId: order.orderId, productId, available: 0 };
    }
    default:
      return { outcome: "failed", orderId: order.orderId, reason };
  }
}

async function unlock(deps: SagaDeps, job: CheckoutJob): Promise<void> {
  await releaseCheckoutLock(deps.redis, deps.keys.checkoutLock(job.clientId), job.orderId);
}
