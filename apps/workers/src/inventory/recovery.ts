import { randomUUID } from "node:crypto";
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
): Promise<number> {
  let ended = 0;
  for (;;) {
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
 * Redis losing its data (a restart without persistence, a failover to an empty
 * replica) takes the epoch marker with it: each inventory shard has its own, on the
 * node that holds the shard, so a Cluster node restarting empty clears only the
 * markers of the shards it held. The first process that notices ends the checkouts
 * whose jobs were lost (none when only stock was lost), then sets those markers again;
 * only then may their levels be loaded from MySQL, so no level misses an order that was
 * about to commit. Shards whose marker stands are not touched. Returns true when this
 * process performed a recovery.
 */
export async function recoverIfRedisLostData(deps: WorkerDeps, saga: SagaDeps): Promise<boolean> {
  const { redis, keys } = deps;
  const present = await Promise.all(keys.shards.map((shard) => redis.exists(keys.epoch(shard))));
  const lost = keys.shards.filter((_, i) => present[i] === 0);
  if (lost.length === 0) return false;
  const token = randomUUID();
  const locked = await redis.set(keys.recoveryLock, token, "PX", 120_000, "NX");
  if (!locked) return false;
  try {
    const ended = await endOrphanedOrders(
      deps,
      saga,
      new Date(Date.now() + 60_000),
      "the queue lost this checkout (Redis lost its data) before it finished",
    );
    const epoch = JSON.stringify({ since: new Date().toISOString(), by: token, ordersEnded: ended });
    await Promise.all(lost.map((shard) => redis.set(keys.epoch(shard), epoch)));
    deps.logger.warn({ ordersEnded: ended, shards: lost }, "stock cache epoch started: levels now load from MySQL");
    return true;
  } finally {
    if ((await redis.get(keys.recoveryLock)) === token) await redis.del(keys.recoveryLock);
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
