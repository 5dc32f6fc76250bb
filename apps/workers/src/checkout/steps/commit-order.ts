import { NEXT, orderOf, type CheckoutStep } from "./step";

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

/** Redis learns that the hold's units are sold (the flush applies them to MySQL later). */
export const commitHold: CheckoutStep = {
  name: "finished",
  async run(run) {
    await run.deps.engine.commit(run.job.orderId);
    return NEXT;
  },
};
