import { NEXT, orderOf, type CheckoutStep } from "./step";

/** Holds every line of the order in Redis, all or nothing (the order id is the reservation id). */
export const reserveStock: CheckoutStep = {
  name: "reserved",
  async run(run) {
    const { deps } = run;
    const order = orderOf(run);
    const started = performance.now();
    const reserved = await deps.engine.reserve(order.orderId, order.items, deps.holdTtlMs);
    deps.observeReservation?.((performance.now() - started) / 1000);
    if (reserved.ok) return NEXT;
    switch (reserved.reason) {
      case "insufficient_stock":
        return {
          fail: {
            code: "out_of_stock",
            reason: `not enough stock of ${reserved.productId}: ${reserved.available} available`,
            productId: reserved.productId,
            available: reserved.available,
          },
        };
      case "unknown_product":
        return { fail: { code: "unknown_product", reason: `unknown product ${reserved.productId}` } };
      case "hold_released":
        return { fail: { code: "hold_expired", reason: "the stock reservation expired before payment" } };
    }
  },
  async compensate(run) {
    await run.deps.engine.release(run.job.orderId);
  },
};
