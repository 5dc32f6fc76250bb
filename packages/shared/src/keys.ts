import type { EventQueueName, QueueName } from "./schemas";

/**
 * Redis keys, grouped by hash tag so a Redis Cluster can spread them over its nodes
 * while every Lua script's keys stay in one slot:
 *
 * - `{prefix:<queue>}`       one queue's BullMQ keys (its scripts touch only its own);
 * - `{prefix:c:<hash>}`      one client's checkout lock, cart copy, idempotency records
 *                            and rate-limit counter (the hash, not the id, is the tag,
 *                            so no id can open or close a tag);
 * - `{prefix:s<n>}`          inventory shard n: stock levels of its products, holds,
 *                            the live-hold index and units held (one reservation script
 *                            per shard), and the shard's epoch marker;
 * - `{prefix:r:<apiId>}`     one API process's reply list;
 * - `{prefix}`               the few process-wide keys (heartbeats, counters, recovery).
 *
 * After the tag, each key keeps its kind before any id, so two kinds never collide.
 */
export function keyspace(prefix: string, shardCount = 1) {
  if (!Number.isInteger(shardCount) || shardCount < 1) throw new Error(`shard count must be >= 1, not ${shardCount}`);
  const tag = `{${prefix}}`;
  const client = (clientId: string) => `{${prefix}:c:${fnv1a(clientId).toString(16).padStart(8, "0")}}`;
  const shard = (n: number) => `{${prefix}:s${n}}`;
  const shardOf = (productId: string) => (shardCount === 1 ? 0 : fnv1a(productId) % shardCount);
  return {
    /** BullMQ's `prefix` option for a queue: its keys become `{prefix:<queue>}:<queue>:...`. */
    queuePrefix: (queue: QueueName | EventQueueName) => `{${prefix}:${queue}}`,
    /** SCAN pattern of every key of this prefix (all start with `{prefix` then `}` or `:`). */
    allKeysPattern: `{${prefix}[:}]*`,
    shardCount,
    /** Shards, in the fixed order a cart spanning several reserves them. */
    shards: Array.from({ length: shardCount }, (_, n) => n),
    shardOf,
    stock: (productId: string) => `${shard(shardOf(productId))}:stock:${productId}`,
    /** A reservation's part in one shard (its lines of that shard's products). */
    hold: (orderId: string, n = 0) => `${shard(n)}:hold:${orderId}`,
    /** Sorted set of a shard's live holds by expiry (+inf once payment began). */
    holdExpiries: (n = 0) => `${shard(n)}:holds:expiry`,
    /** Hash product id -> units held in a shard and not yet committed or released. */
    held: (n = 0) => `${shard(n)}:held`,
    /**
     * Present while a shard's stock cache can be trusted: the node that holds the shard
     * losing its data loses it too. The shard count is in the name, so changing it
     * starts a new epoch (a rebuild from MySQL) for every shard.
     */
    epoch: (n = 0) => `${shard(n)}:epoch:${shardCount}`,
    /**
     * Sorted set of a product's stock changes in flight (restock, refund): the reconciler
     * waits for them. In its product's shard, beside its stock level and `held`.
     */
    stockChanges: (productId: string) => `${shard(shardOf(productId))}:stockchanges:${productId}`,
    /**
     * Lease held by the one process rebuilding a shard after a loss: in the shard's slot,
     * so the lease and the shard's epoch marker are set and freed in one script.
     */
    recoveryLock: (n = 0) => `${shard(n)}:recovery`,
    checkoutLock: (clientId: string) => `${client(clientId)}:lock:checkout:${clientId}`,
    /** Hash product id -> quantity: a copy of a client's cart that lets the API turn away sold-out checkouts without a queue. */
    cartMirror: (clientId: string) => `${client(clientId)}:cartcopy:${clientId}`,
    /** Stored answers of requests sent with an Idempotency-Key, by scope (a client, or the admin). */
    idempotency: (scope: string, key: string) => `${client(scope)}:idem:${scope}:${key}`,
    /** A client's (or an address's) rate-limit counter. */
    rateLimit: (key: string) => `${client(key)}:rl:${key}`,
    /** Hash of checkout outcome -> count, across every worker. */
    checkoutOutcomes: `${tag}:stats:checkout`,
    /** Hash of webhook delivery outcome -> count, across every worker. */
    webhookOutcomes: `${tag}:stats:webhooks`,
    /** List of job results for one API process (workers push, that process pops). */
    reply: (apiId: string) => `{${prefix}:r:${fnv1a(apiId).toString(16)}}:reply:${apiId}`,
    /** Sorted set of worker process id -> last healthy heartbeat (ms). */
    workerHeartbeats: `${tag}:workers`,
    /** Testing only: crashes CHAOS_CRASH_AT has caused, per step, across processes. */
    chaosCrashes: (point: string) => `${tag}:chaos:crashes:${point}`,
  };
}
export type Keyspace = ReturnType<typeof keyspace>;

/** FNV-1a, 32 bits: stable across processes and versions, and cheap per request. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(s, "utf8")) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}
