import { NEXT, orderOf, type CheckoutStep } from "./step";

/** Payment is about to start: from here on, expiry leaves the hold alone. */
export const beginPayment: CheckoutStep = {
  name: "committing",
  async run(run) {
    const productIds = orderOf(run).items.map((item) => item.productId);
    const begun = await run.deps.engine.beginCommit(run.job.orderId, productIds);
    if (begun.ok) return NEXT;
    // The hold is gone from Redis (its data was lost): reserve again on the next delivery.
    if (begun.reason === "hold_not_found") throw new Error(`hold of order ${run.job.orderId} vanished before payment`);
    return { fail: { code: "hold_expired", reason: "the stock reservation expired before payment" } };
  },
};
