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
    held: `${tag}:held`,
    // Never `${tag}:<queue name>:...`: BullMQ owns those (a client named "wait" would hit its lists).
    checkoutLock: (clientId: string) => `${tag}:lock:checkout:${clientId}`,
    /** Hash product id -> quantity: a copy of a client's cart that lets the API turn away sold-out checkouts without a queue. */
    cartMirror: (clientId: string) => `${tag}:cartcopy:${clientId}`,
    /** Sorted set of a product's stock changes in flight (restock, refund): the reconciler waits for them. */
    stockChanges: (productId: string) => `${tag}:stockchanges:${productId}`,
    /** Present while the stock cache can be trusted; Redis losing its data loses it too. */
    epoch: `${tag}:epoch`,
    /** Held by the one process rebuilding after a loss. */
    recoveryLock: `${tag}:recovery`,
    /** Stored answers of requests sent with an Idempotency-Key. */
    idempotency: (scope: string, key: string) => `${tag}:idem:${scope}:${key}`,
    /** Hash of checkout outcome -> count, across every worker. */
    checkoutOutcomes: `${tag}:stats:checkout`,
    /** Hash of webhook delivery outcome -> count, across every worker. */
    webhookOutcomes: `${tag}:stats:webhooks`,
    /** List of job results for one API process (workers push, that process pops). */
    reply: (apiId: string) => `${tag}:reply:${apiId}`,
    /** Sorted set of worker process id -> last healthy heartbeat (ms). */
    workerHeartbeats: `${tag}:workers`,
  };
}
export type Keyspace = ReturnType<typeof keyspace>;
