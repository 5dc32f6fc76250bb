import { traced, wasPaid, type CheckoutJob, type CheckoutResult } from "@oms/shared";
import { releaseCheckoutLock } from "@oms/inventory";
import type { Failure, Order } from "./order";
import { beginPayment } from "./steps/begin-payment";
import { chargePayment } from "./steps/charge-payment";
import { commitHold, commitOrder, finishCompleted } from "./steps/commit-order";
import { createOrder } from "./steps/create-order";
import { reserveStock } from "./steps/reserve-stock";
import type { CheckoutRun, CheckoutStep, SagaDeps } from "./steps/step";

export { SAGA_STEPS, type SagaDeps, type SagaStep } from "./steps/step";

/**
 * The checkout saga: create the order -> reserve the stock -> begin payment -> charge ->
 * commit the order -> commit the hold. Every step is safe to replay (the order id is the
 * reservation id and the payment's idempotency key, and each step first looks at what
 * an earlier delivery left); transient failures throw, so BullMQ delivers the job again.
 */
export const CHECKOUT_STEPS: readonly CheckoutStep[] = [
  createOrder,
  reserveStock,
  beginPayment,
  chargePayment,
  commitOrder,
  commitHold,
];

export async function runCheckout(job: CheckoutJob, deps: SagaDeps): Promise<CheckoutResult> {
  const run: CheckoutRun = { job, deps };
  const done: CheckoutStep[] = [];
  for (const step of CHECKOUT_STEPS) {
    const outcome = await traced(`saga step ${step.name}`, { "oms.order_id": job.orderId }, () => step.run(run));
    if ("answer" in outcome) {
      // An empty cart ends this checkout; "busy" leaves the lock to the checkout that runs.
      if (outcome.answer.outcome === "empty_cart") await unlock(deps, job);
      return outcome.answer;
    }
    if ("ended" in outcome) return settle(outcome.ended, deps, job);
    if ("fail" in outcome) return failCheckout(run, done, outcome.fail);
    done.push(step);
    await deps.checkpoint?.(step.name);
  }
  const totalCents = run.order?.totalCents ?? 0;
  deps.logger.info(
    { orderId: job.orderId, clientId: job.clientId, requestId: job.requestId, totalCents },
    "order completed",
  );
  return { outcome: "completed", orderId: job.orderId, totalCents };
}

/**
 * The final-failure path: the job will not be delivered again. Release the hold, end
 * the order as failed, refund a charge that went through, unless it already completed.
 */
export async function compensateCheckout(job: CheckoutJob, deps: SagaDeps, reason: string): Promise<CheckoutResult> {
  const order = await deps.orders.get(job.orderId);
  if (order && order.state !== "pending") return settle(order, deps, job);
  const run: CheckoutRun = { job, deps };
  await reserveStock.compensate?.(run);
  // Fail before the refund: a refund that cannot be made now is retried by the sweep of
  // stranded charges, while an order left pending would block the client's next checkout.
  if (order) await deps.orders.fail(job.orderId, "checkout_failed", reason);
  await unlock(deps, job);
  await chargePayment.compensate?.(run);
  return { outcome: "failed", orderId: job.orderId, reason };
}

/**
 * A step refused: undo what the steps before it did, then end the order failed. The
 * undo comes first: a crash in between leaves a pending order whose replay ends it,
 * never a committing hold that nothing releases.
 */
async function failCheckout(run: CheckoutRun, done: CheckoutStep[], failure: Failure): Promise<CheckoutResult> {
  const { job, deps } = run;
  for (const step of [...done].reverse()) await step.compensate?.(run);
  const { order } = await deps.orders.failAndRead(job.orderId, failure);
  if (order && wasPaid(order.state)) return settle(order, deps, job);
  await unlock(deps, job);
  return order ? resultOf(order) : { outcome: "failed", orderId: job.orderId, reason: failure.reason };
}

/**
 * The one replay path: an order that already ended (on an earlier delivery, or by
 * another path) gets the side effects its end needs, each a no-op when done before,
 * and the answer it ended with.
 */
async function settle(order: Omit<Order, "items">, deps: SagaDeps, job: CheckoutJob): Promise<CheckoutResult> {
  // Cancelled, refunded, shipped...: the checkout completed and its charge stands (refunds
  // are the lifecycle's, never a compensation's), so the replay answers "completed".
  if (wasPaid(order.state)) {
    await finishCompleted(deps, job);
    return resultOf(order);
  }
  // An earlier delivery may have held stock or charged, then died before undoing it.
  const run: CheckoutRun = { job, deps };
  for (const step of [...CHECKOUT_STEPS].reverse()) await step.compensate?.(run);
  await unlock(deps, job);
  return resultOf(order);
}

/** The answer an ended order gives, from its fields. */
function resultOf(order: Omit<Order, "items">): CheckoutResult {
  const { orderId } = order;
  if (wasPaid(order.state)) return { outcome: "completed", orderId, totalCents: order.totalCents };
  const reason = order.failureReason ?? "failed";
  switch (order.failureCode) {
    case "payment_declined":
      return { outcome: "declined", orderId, reason };
    case "empty_cart":
      return { outcome: "empty_cart", orderId };
    case "out_of_stock":
      return {
        outcome: "out_of_stock",
        orderId,
        productId: order.failureProductId ?? "",
        available: order.failureAvailable ?? 0,
      };
    default:
      return { outcome: "failed", orderId, reason };
  }
}

async function unlock(deps: SagaDeps, job: CheckoutJob): Promise<void> {
  await releaseCheckoutLock(deps.redis, deps.keys.checkoutLock(job.clientId), job.orderId);
}
