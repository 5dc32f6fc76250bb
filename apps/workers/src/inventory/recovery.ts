import { Lease } from "@oms/inventory";
import type { WorkerDeps } from "../deps";
import { compensateCheckout, type SagaDeps } from "../checkout/saga";

const LIVE_JOB_STATES = new Set(["active", "waiting", "delayed", "prioritized", "waiting-children"]);

/**
 * Ends pending orders that no delivery will ever finish: their checkout job is gone
 * (Redis lost it) or failed for good. Each gets the final-failure compensation:
 * hold released, charge refunded, order failed with a reason. An order that reaches
 * its commit meanwhile stays completed: both paths change only a pending order.
 */
export async function endOrphanedOrders(
  deps: WorkerDeps,
  saga: SagaDeps,
  olderThan: Date,
  reason: string,
  /** Asked before each batch; false stops the sweep (the recovery lost its lease). */
  stillMine: () => Promise<boolean> = async () => true,
): Promise<number> {
  let ended = 0;
  for (;;) {
    if (!(await stillMine())) return ended;
    const batch = await deps.orders.stalePending(olderThan, 200);
    let endedInBatch = 0;
    for (const orderId of batch) {
      const state = await deps.checkoutQueue.getJobState(orderId);
      if (LIVE_JOB_STATES.has(state)) continue;
      const order = await deps.orders.get(orderId);
      if (!order || order.state !== "pending") continue;
      const result = await compensateCheckout(
        { type: "checkout", orderId, clientId: order.clientId, paymentToken: "tok_ok" },
        saga,
        reason,
      );
      if (result.outcome === "failed") {
        deps.logger.warn({ orderId, reason }, "orphaned checkout ended");
        endedInBatch++;
      }
    }
    ended += endedInBatch;
    if (batch.length < 200 || endedInBatch === 0) return ended;
  }
}

/**
 * How long the recovery lease lives without renewal: a recovering process that dies or
 * freezes holds up every checkout ("the stock cache is being rebuilt") for at most this.
 */
export const RECOVERY_LEASE_MS = 10_000;

/**
 * Redis losing its data (a restart without persistence, a failover to an empty
 * replica) takes the epoch marker with it. The first process that notices ends the
 * checkouts whose jobs were lost, then sets the marker again; only then may stock
 * levels be loaded from MySQL, so no level misses an order that was about to commit.
 * The work runs under a renewed lease: a process that lost it (frozen past it, another
 * took over) stops and leaves the marker to its successor.
 * Returns true when this process performed a recovery.
 */
export async function recoverIfRedisLostData(
  deps: WorkerDeps,
  saga: SagaDeps,
  leaseMs = RECOVERY_LEASE_MS,
): Promise<boolean> {
  const { redis, keys } = deps;
  if (await redis.exists(keys.epoch)) return false;
  const lease = await Lease.take(redis, keys.recoveryLock, leaseMs);
  if (!lease) return false;
  try {
    const ended = await endOrphanedOrders(
      deps,
      saga,
      new Date(Date.now() + 60_000),
      "the queue lost this checkout (Redis lost its data) before it finished",
      () => lease.renew(),
    );
    const epoch = JSON.stringify({ since: new Date().toISOString(), by: lease.token, ordersEnded: ended });
    if (!(await lease.finishRecovery(keys.epoch, epoch))) {
      deps.logger.warn({ ordersEnded: ended }, "recovery lease lost before the end: another process finishes it");
      return false;
    }
    deps.logger.warn({ ordersEnded: ended }, "stock cache epoch started: levels now load from MySQL");
    return true;
  } finally {
    await lease.release();
  }
}

/** Refunds charges that stand on failed orders (their refund failed when the order ended). */
export async function refundStrandedCharges(deps: WorkerDeps): Promise<number> {
  let refunded = 0;
  for (const key of await deps.orders.failedWithCharge(100)) {
    try {
      await deps.payment.refund(key);
      refunded++;
      deps.logger.warn({ orderId: key }, "stranded charge refunded");
    } catch (err) {
      deps.logger.error(
        { orderId: key, err: err instanceof Error ? err.message : String(err) },
        "refund failed; will retry",
      );
    }
  }
  return refunded;
}
