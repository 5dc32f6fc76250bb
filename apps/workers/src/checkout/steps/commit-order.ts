import { releaseCheckoutLock } from "@oms/inventory";
import type { CheckoutJob } from "@oms/shared";
import { NEXT, orderOf, type CheckoutStep, type SagaDeps } from "./step";

/**
 * The commit, in MySQL: the order completed with its payment reference, its decrements
 * owed to the flush, the bought lines out of the cart (one batched transaction). If
 * Redis lost the hold meanwhile, reserve_purchase still counts the sale when the cache
 * reloads.
 */
export const commitOrder: CheckoutStep = {
  name: "committed",
  async run(run) {
    const order = orderOf(run);
    const committed = await run.deps.orders.complete(order, run.paymentRef ?? "");
    if (committed !== "already_failed") return NEXT;
    // Someone ended the order (the final-failure path) while we charged.
    const ended = await run.deps.orders.get(order.orderId);
    if (!ended) throw new Error(`order ${order.orderId} vanished`);
    return { ended };
  },
};

/**
 * The order is final in MySQL: Redis learns that the hold's units are sold (the flush
 * applies them to MySQL later), the API's copy of the cart goes (the next add rebuilds
 * it) before the client's checkout lock does, and a flush is asked for. One round trip:
 * auto-pipelining sends the four in one write, and Redis runs them in that order. If
 * Redis lost the hold, reserve_purchase still counts the sale when the cache reloads.
 */
export async function finishCompleted(deps: SagaDeps, job: CheckoutJob): Promise<void> {
  await Promise.all([
    deps.engine.commit(job.orderId),
    deps.redis.del(deps.keys.cartMirror(job.clientId)),
    releaseCheckoutLock(deps.redis, deps.keys.checkoutLock(job.clientId), job.orderId),
    deps.requestFlush(),
  ]);
}

export const commitHold: CheckoutStep = {
  name: "finished",
  async run(run) {
    await finishCompleted(run.deps, run.job);
    return NEXT;
  },
};
