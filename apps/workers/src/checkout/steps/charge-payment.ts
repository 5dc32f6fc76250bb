import { NEXT, orderOf, type CheckoutStep } from "./step";

/** Charges the order's total, keyed by the order id: a replay is never charged twice. */
export const chargePayment: CheckoutStep = {
  name: "charged",
  async run(run) {
    const order = orderOf(run);
    const charge = await run.deps.payment.charge({
      idempotencyKey: order.orderId,
      orderId: order.orderId,
      amountCents: order.totalCents,
      token: run.job.paymentToken,
    });
    if (charge.status === "succeeded") {
      run.paymentRef = charge.reference;
      return NEXT;
    }
    const reason = charge.status === "declined" ? `payment declined: ${charge.reason}` : "payment was refunded";
    return { fail: { code: "payment_declined", reason } };
  },
  async compensate(run) {
    // Refunding a charge that never went through is a no-op.
    await run.deps.payment.refund(run.job.orderId);
  },
};
