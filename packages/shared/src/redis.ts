import { Cluster, Redis, type ClusterOptions, type RedisOptions } from "ioredis";
import type { BaseConfig } from "./config/base";

/** A connection to any of the three deployments: our commands and BullMQ take either. */
export type RedisClient = Redis | Cluster;

interface HostPort {
  host: string;
  port: number;
}

/** Where Redis is, as the configuration names it (one of three modes). */
export type RedisTarget =
  | { mode: "standalone"; url: string }
  | { mode: "sentinel"; url: string; name: string; sentinels: HostPort[] }
  | { mode: "cluster"; url: string; nodes: HostPort[] };

type RedisSettings = Pick<BaseConfig, "REDIS_URL" | "REDIS_SENTINELS" | "REDIS_SENTINEL_NAME" | "REDIS_CLUSTER_NODES">;

/** The mode the configuration names; each process's config loader has already refused mixed or half settings. */
export function redisTarget(config: RedisSettings): RedisTarget {
  const url = config.REDIS_URL;
  if (config.REDIS_CLUSTER_NODES) return { mode: "cluster", url, nodes: config.REDIS_CLUSTER_NODES };
  if (config.REDIS_SENTINELS && config.REDIS_SENTINEL_NAME)
    return { mode: "sentinel", url, name: config.REDIS_SENTINEL_NAME, sentinels: config.REDIS_SENTINELS };
  return { mode: "standalone", url };
}

/** Where a process connects, for its start-up log line: never the password. */
export function describeTarget(target: RedisTarget): string {
  const list = (nodes: HostPort[]) => nodes.map((n) => `${n.host}:${n.port}`).join(",");
  switch (target.mode) {
    case "standalone":
      return `standalone ${new URL(target.url).host}`;
    case "sentinel":
      return `sentinel ${target.name} via ${list(target.sentinels)}`;
    case "cluster":
      return `cluster via ${list(target.nodes)}`;
  }
}

export interface ConnectionOptions {
  /** BullMQ's connections block and must never give up on a command. */
  forQueue?: boolean;
  name?: string;
}

/**
 * ioredis connections. `protocol` stays RESP2 (ioredis 5 default) so our Lua replies
 * are plain integers and arrays. Commands fail fast while disconnected so the API can
 * answer 503 instead of queueing requests in memory; BullMQ's blocking connections
 * need `maxRetriesPerRequest: null`, which `forQueue` gives.
 */
export function createRedis(url: string, opts?: ConnectionOptions): Redis;
export function createRedis(target: string | RedisTarget, opts?: ConnectionOptions): RedisClient;
export function createRedis(target: string | RedisTarget, opts: ConnectionOptions = {}): RedisClient {
  const t: RedisTarget = typeof target === "string" ? { mode: "standalone", url: target } : target;
  const retryStrategy = (times: number) => Math.min(50 * 2 ** Math.min(times, 6), 2_000);
  const options: RedisOptions = {
    connectionName: opts.name,
    lazyConnect: false,
    enableAutoPipelining: true,
    retryStrategy,
    ...(opts.forQueue
      ? { maxRetriesPerRequest: null, enableOfflineQueue: true }
      : { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2_000 }),
  };
  let client: RedisClient;
  switch (t.mode) {
    case "standalone":
      client = new Redis(t.url, options);
      break;
    case "sentinel":
      client = new Redis({
        ...options,
        ...credentials(t.url),
        name: t.name,
        sentinels: t.sentinels,
        sentinelRetryStrategy: retryStrategy,
        // Reconnect as soon as a sentinel announces a new primary, not when the old one
        // finally drops the connection.
        failoverDetector: true,
      });
      break;
    case "cluster":
      client = new Cluster(t.nodes, clusterOptions(t.url, options, opts));
      break;
  }
  // Connection errors surface on commands; an unhandled 'error' event would crash the process.
  client.on("error", () => undefined);
  return client;
}

function clusterOptions(url: string, node: RedisOptions, opts: ConnectionOptions): ClusterOptions {
  const { enableOfflineQueue, retryStrategy, ...perNode } = node;
  return {
    // ioredis batches auto-pipelined commands per node, and a batch that meets a slot
    // that moved (a failover) fails with MOVED instead of following it; it also routes a
    // script whose key count comes first by that count. Without it, commands still share
    // each node's connection and are written without waiting for each other's replies.
    enableAutoPipelining: false,
    enableOfflineQueue,
    redisOptions: { ...perNode, ...credentials(url) },
    clusterRetryStrategy: (times) => retryStrategy?.(times) ?? 1_000,
    // During a failover the slot answers CLUSTERDOWN or moves: retry for a while before
    // a command fails (a queue connection never fails one; it waits for the new primary).
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 200,
    retryDelayOnTryAgain: 100,
    maxRedirections: opts.forQueue ? 64 : 16,
    slotsRefreshTimeout: 2_000,
  };
}

/** User, password and TLS of REDIS_URL, applied to every node of a Sentinel set or Cluster. */
function credentials(url: string): RedisOptions {
  const u = new URL(url);
  return {
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.protocol === "rediss:" ? { tls: {} } : {}),
  };
}

/**
 * Waits until `replicas` replicas have every write this client sent so far to the node
 * holding `key` (Redis WAIT), for at most `timeoutMs`; answers how many did. WAIT counts
 * the writes of its own connection, so on a Cluster it is sent to the key's node in a
 * pipeline led by a command on that key (ioredis routes a pipeline by its keys).
 */
export async function waitForReplicas(
  redis: RedisClient,
  key: string,
  replicas: number,
  timeoutMs: number,
): Promise<number> {
  if (!(redis instanceof Cluster)) return redis.wait(replicas, timeoutMs);
  const replies = await redis.pipeline().exists(key).wait(replicas, timeoutMs).exec();
  const [, acked] = replies?.[1] ?? [];
  return typeof acked === "number" ? acked : 0;
}

/** The wait REDIS_WAIT_REPLICAS asks for after writes that take stock, or none. */
export function replicaWait(
  redis: RedisClient,
  config: Pick<BaseConfig, "REDIS_WAIT_REPLICAS" | "REDIS_WAIT_TIMEOUT_MS">,
): ((key: string) => Promise<number>) | undefined {
  const { REDIS_WAIT_REPLICAS: replicas, REDIS_WAIT_TIMEOUT_MS: timeoutMs } = config;
  return replicas > 0 ? (key) => waitForReplicas(redis, key, replicas, timeoutMs) : undefined;
}

/**
 * ioredis errors that mean Redis could not be reached (a connection closed or refused,
 * a command that gave up while disconnected), not that a command was wrong.
 */
export function isRedisUnavailable(err: unknown): boolean {
  const e = err as { code?: string; name?: string; message?: string } | null;
  const message = e?.message ?? "";
  return (
    e?.name === "MaxRetriesPerRequestError" ||
    UNREACHABLE_MESSAGES.has(message) ||
    UNREACHABLE_PREFIXES.some((p) => message.startsWith(p))
  );
}

/**
 * ioredis rejects these as plain Errors with no code or class, so its constant messages
 * are their only identity: compared whole, never searched.
 */
const UNREACHABLE_MESSAGES = new Set([
  "Connection is closed.",
  "Stream isn't writeable and enableOfflineQueue options is false",
  "Cluster isn't ready and enableOfflineQueue options is false",
  "Cluster is disconnected.",
  "None of startup nodes is available",
  "Node is disconnected",
]);

/**
 * Replies a Cluster or a failing-over primary gives while a slot has no primary, a
 * replica has not taken over yet or the slot is moving: the data is not reachable right
 * now, nothing was wrong with the command. Redis's own error codes, so they are matched
 * by their first word.
 */
const UNREACHABLE_PREFIXES = [
  "CLUSTERDOWN ",
  "TRYAGAIN ",
  "LOADING ",
  "READONLY ",
  "MASTERDOWN ",
  // ioredis gave up following a slot that kept moving or whose node was gone.
  "Too many Cluster redirections.",
  // A slot moved under a batch of auto-pipelined commands that ioredis could not resend
  // as one: the slot map is changing (a failover, a node rejoining); the next try follows it.
  "MOVED ",
  "ASK ",
];
