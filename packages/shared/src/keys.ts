/**
 * Every Redis key lives under one hash tag, `{prefix}`, so that a Redis Cluster puts
 * them all in one slot and each Lua script's keys stay together.
 */
export function keyspace(prefix: string) {
  const tag = `{${prefix}}`;
  return {
    /** BullMQ's `prefix` option: queue keys become `{prefix}:<queue>:...`. */
    queuePrefix: tag,
    stock: (productId: string) => `${tag}:stock:${productId}`,
    hold: (orderId: string) => `${tag}:hold:${orderId}`,
    holdExpiries: `${tag}:holds:expiry`,
    checkoutLock: (clientId: string) => `${tag}:checkout:${clientId}`,
    epoch: `${tag}:epoch`,
    /** Hash of checkout outcome -> count, across every worker. */
    checkoutOutcomes: `${tag}:stats:checkout`,
    /** Sorted set of worker process id -> last healthy heartbeat (ms). */
    workerHeartbeats: `${tag}:workers`,
  };
}
export type Keyspace = ReturnType<typeof keyspace>;
