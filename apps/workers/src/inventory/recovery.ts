import { Lease } from "@oms/inventory";
import type { WorkerDeps } from "../deps";
import { compensateCheckout, type SagaDeps } from "../checkout/saga";
import { errorMessage } from "@oms/shared";

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
 * replica) takes the epoch marker with it: each inventory shard has its own, on the
 * node that holds the shard, so a Cluster node restarting empty clears only the
 * markers of the shards it held. The first process that notices ends the checkouts
 * whose jobs were lost (none when only stock was lost), then sets those markers again;
 * only then may their levels be loaded from MySQL, so no level misses an order that was
 * about to commit. Shards whose marker stands are not touched.
 * Each lost shard is recovered under its own renewed lease, in the shard's slot beside
 * its marker: a process that lost a shard's lease (frozen past it, another took over)
 * leaves that shard's marker to its successor, and stops once it holds none. Shards
 * whose lease another process holds are left to it.
 * Returns true when this process set at least one shard's marker.
 */
export async function recoverIfRedisLostData(
  deps: WorkerDeps,
  saga: SagaDeps,
  leaseMs = RECOVERY_LEASE_MS,
): Promise<boolean> {
  const { redis, keys } = deps;
  const present = await Promise.all(keys.shards.map((shard) => redis.exists(keys.epoch(shard))));
  const lost = keys.shards.filter((_, i) => present[i] === 0);
  if (lost.length === 0) return false;
  const taken = await Promise.all(lost.map((shard) => Lease.take(redis, keys.recoveryLock(shard), leaseMs)));
  const leases = lost.flatMap((shard, i) => {
    const lease = taken[i];
    return lease ? [{ shard, lease }] : [];
  });
  if (leases.length === 0) return false;
  try {
    const ended = await endOrphanedOrders(
      deps,
      saga,
      new Date(Date.now() + 60_000),
      "the queue lost this checkout (Redis lost its data) before it finished",
      async () => (await Promise.all(leases.map(({ lease }) => lease.renew()))).some(Boolean),
    );
    const token = leases[0]?.lease.token;
    const epoch = JSON.stringify({ since: new Date().toISOString(), by: token, ordersEnded: ended });
    const finished = await Promise.all(
      leases.map(({ shard, lease }) => lease.finishRecovery(keys.epoch(shard), epoch)),
    );
    const shards = leases.filter((_, i) => finished[i]).map(({ shard }) => shard);
    const handedOver = leases.filter((_, i) => !finished[i]).map(({ shard }) => shard);
    if (handedOver.length > 0)
      deps.logger.warn(
        { ordersEnded: ended, shards: handedOver },
        "recovery lease lost before the end: another process finishes these shards",
      );
    if (shards.length === 0) return false;
    deps.logger.warn({ ordersEnded: ended, shards }, "stock cache epoch started: levels now load from MySQL");
    return true;
  } finally {
    await Promise.all(leases.map(({ lease }) => lease.release()));
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
      deps.logger.error({ orderId: key, err: errorMessage(err) }, "refund failed; will retry");
    }
  }
  return refunded;
}
