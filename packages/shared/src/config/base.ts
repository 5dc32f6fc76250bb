import { z } from "zod";
import { hostPorts, integer, keySafeName } from "./settings";

/** What every process reads: where Redis and MySQL are, how it logs and traces, how jobs retry. */
export const BASE_SETTINGS = {
  NODE_ENV: z.enum(["development", "production", "test"]).default("development").describe("Runtime mode"),
  HOST: z
    .string()
    .min(1)
    .default("0.0.0.0")
    .describe("Interface the API, a worker's METRICS_PORT and the autoscaler's metrics listen on"),
  LOG_LEVEL: z
    .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"])
    .default("info")
    .describe("Log level"),
  REDIS_URL: z
    .url({ protocol: /^rediss?$/ })
    .default("redis://127.0.0.1:6379")
    .describe(
      "Redis for queues, stock cache and holds: a standalone server; with REDIS_SENTINELS or REDIS_CLUSTER_NODES only its user, password and rediss: (TLS) are used, for every node",
    ),
  REDIS_SENTINELS: hostPorts
    .optional()
    .describe(
      "Sentinel mode: the sentinels to ask for the primary (host:port,host:port,...); needs REDIS_SENTINEL_NAME",
    ),
  REDIS_SENTINEL_NAME: keySafeName(64)
    .optional()
    .describe("Sentinel mode: the name the sentinels monitor the primary under"),
  REDIS_CLUSTER_NODES: hostPorts
    .optional()
    .describe("Cluster mode: some nodes of the Redis Cluster to learn its layout from (host:port,host:port,...)"),
  REDIS_WAIT_REPLICAS: integer(0, { min: 0, max: 10 }).describe(
    "Sentinel or Cluster: after a reservation (and when payment starts, or a level is lowered) wait until this many replicas have it, so a failover cannot lose it (0: do not wait; 1 with one replica per primary)",
  ),
  REDIS_WAIT_TIMEOUT_MS: integer(50, { min: 1, max: 10_000 }).describe(
    "Longest wait for REDIS_WAIT_REPLICAS; a replica slower than this is not waited for (the reconciler repairs what a failover then loses)",
  ),
  INVENTORY_SHARDS: integer(1, { min: 1, max: 1024 }).describe(
    "Stock is split by product into this many shards, each under its own hash tag, so a Redis Cluster spreads them over its primaries (1: one atomic script per cart)",
  ),
  REDIS_PREFIX: keySafeName(40, " (it becomes the {hash tag})")
    .default("oms")
    .describe("Key prefix; used as one Redis Cluster hash tag {prefix} for every key"),
  DATABASE_URL: z
    .url({ protocol: /^mysql2?$/ })
    .default("mysql://root@127.0.0.1:3306/orders")
    .describe("MySQL/MariaDB, the source of truth"),
  DB_POOL_MAX: integer(20, { min: 1, max: 500 }).describe("Max MySQL connections per process"),
  OTEL_EXPORTER_OTLP_ENDPOINT: z
    .url({ protocol: /^https?$/ })
    .optional()
    .describe(
      "OTLP/HTTP collector base URL (traces go to <url>/v1/traces): one trace per request across API, queue and worker; unset = tracing off",
    ),
  SHUTDOWN_GRACE_MS: integer(10_000, { min: 100 }).describe("Time given to in-flight work on SIGTERM"),
  JOB_ATTEMPTS: integer(6, { min: 1, max: 50 }).describe("Deliveries of a job before it fails for good"),
  JOB_BACKOFF_MS: integer(500, { min: 10 }).describe("Base of the exponential retry backoff"),
  CART_REPLAY_RETENTION_MS: integer(3_600_000, { min: 600_000 }).describe(
    "How long an applied add/set/clear cart job's record (cart_operations) is kept: it must outlast every re-delivery of that job, i.e. its retries (under a second), stall recovery (MAX_STALLED x (JOB_LOCK_MS + STALLED_CHECK_MS), ~4 min by default) and an operator running a finished cart job again, which is why finished cart jobs are kept no longer; older records are pruned every minute",
  ),
};

export const BaseSchema = z.object(BASE_SETTINGS);
export type BaseConfig = z.infer<typeof BaseSchema>;

/** The Redis settings that only make sense together (each alone is checked by the schema). */
export function redisModeProblems(
  c: Pick<BaseConfig, "REDIS_SENTINELS" | "REDIS_SENTINEL_NAME" | "REDIS_CLUSTER_NODES">,
): string[] {
  const problems: string[] = [];
  if (c.REDIS_SENTINELS && c.REDIS_CLUSTER_NODES)
    problems.push("REDIS_SENTINELS: cannot be set together with REDIS_CLUSTER_NODES (choose Sentinel or Cluster)");
  if (c.REDIS_SENTINELS && !c.REDIS_SENTINEL_NAME)
    problems.push("REDIS_SENTINEL_NAME: required with REDIS_SENTINELS (the primary's name in the sentinels)");
  if (c.REDIS_SENTINEL_NAME && !c.REDIS_SENTINELS)
    problems.push("REDIS_SENTINELS: required with REDIS_SENTINEL_NAME (where the sentinels listen)");
  return problems;
}
