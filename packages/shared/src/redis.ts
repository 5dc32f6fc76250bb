import { Redis, type RedisOptions } from "ioredis";

/**
 * ioredis connections. `protocol` stays RESP2 (ioredis 5 default) so our Lua replies
 * are plain integers and arrays. Commands fail fast while disconnected so the API can
 * answer 503 instead of queueing requests in memory; BullMQ's blocking connections
 * need `maxRetriesPerRequest: null`, which `forQueue` gives.
 */
export function createRedis(url: string, opts: { forQueue?: boolean; name?: string } = {}): Redis {
  const options: RedisOptions = {
    connectionName: opts.name,
    lazyConnect: false,
    enableAutoPipelining: true,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2_000),
    ...(opts.forQueue
      ? { maxRetriesPerRequest: null, enableOfflineQueue: true }
      : { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2_000 }),
  };
  const redis = new Redis(url, options);
  // Connection errors surface on commands; an unhandled 'error' event would crash the process.
  redis.on("error", () => undefined);
  return redis;
}

/**
 * ioredis errors that mean Redis could not be reached (a connection closed or refused,
 * a command that gave up while disconnected), not that a command was wrong.
 */
export function isRedisUnavailable(err: unknown): boolean {
  const e = err as { code?: string; name?: string; message?: string } | null;
  return e?.name === "MaxRetriesPerRequestError" || UNREACHABLE_MESSAGES.has(e?.message ?? "");
}

/**
 * ioredis rejects these as plain Errors with no code or class, so its constant messages
 * are their only identity: compared whole, never searched.
 */
const UNREACHABLE_MESSAGES = new Set([
  "Connection is closed.",
  "Stream isn't writeable and enableOfflineQueue options is false",
]);
