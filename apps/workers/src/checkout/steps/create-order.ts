import { UnrecoverableError } from "bullmq";
import { NEXT, type CheckoutStep } from "./step";

/** Snapshots the cart into a pending order (or finds the one an earlier delivery made). */
export const createOrder: CheckoutStep = {
  name: "created",
  async run(run) {
    const { job, deps } = run;
    const created = await deps.orders.createPending(job.orderId, job.clientId);
    switch (created.kind) {
      case "empty_cart":
        return { answer: { outcome: "empty_cart", orderId: job.orderId } };
      case "busy":
        return {
          answer: {
            outcome: "failed",
            orderId: job.orderId,
            reason: `another checkout of this cart is in progress (order ${created.otherOrderId})`,
          },
        };
      case "created":
      case "existing":
        break;
    }
    const { order } = created;
    // A job is the client's; an order id that belongs to another client can never succeed,
    // so BullMQ fails it at once instead of retrying it, and nothing compensates it.
    if (order.clientId !== job.clientId) throw new UnrecoverableError(`order ${job.orderId} belongs to another client`);
    if (order.state !== "pending") return { ended: order };
    run.order = order;
    return NEXT;
  },
};
