import { z } from "zod";

/** An integer setting with its bounds and default: the one chain every numeric setting needs. */
function integer(def: number, bounds: { min?: number; max?: number } = {}) {
  let schema = z.coerce.number().int();
  if (bounds.min !== undefined) schema = schema.min(bounds.min);
  if (bounds.max !== undefined) schema = schema.max(bounds.max);
  return schema.default(def);
}
const int = (def: number) => integer(def, { min: 0 });
const bool = (def: boolean) => z.stringbool().default(def);
const hostPorts = z
  .string()
  .transform((s) =>
    s
      .split(",")
      .map((hp) => hp.trim())
      .filter(Boolean),
  )
  .pipe(
    z
      .array(z.string().regex(/^[A-Za-z0-9_.-]+:\d{1,5}$/, "each entry must be host:port"))
      .min(1, "must name at least one host:port"),
  )
  .transform((list) =>
    list.map((hp) => {
      const at = hp.lastIndexOf(":");
      return { host: hp.slice(0, at), port: Number(hp.slice(at + 1)) };
    }),
  );

/** Every setting the system reads from the environment, each with what it means. */
export const ConfigSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development").describe("Runtime mode"),
  HOST: z
    .string()
    .min(1)
    .default("0.0.0.0")
    .describe("Interface the API, a worker's METRICS_PORT and the autoscaler's metrics listen on"),
  PORT: integer(5003, { min: 0, max: 65535 }).describe("API port (5003, as the original service)"),
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
  REDIS_SENTINEL_NAME: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, "letters, digits, '_', '.', '-' only")
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
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,40}$/, "letters, digits, '_', '.', '-' only (it becomes the {hash tag})")
    .default("oms")
    .describe("Key prefix; used as one Redis Cluster hash tag {prefix} for every key"),
  DATABASE_URL: z
    .url({ protocol: /^mysql2?$/ })
    .default("mysql://root@127.0.0.1:3306/orders")
    .describe("MySQL/MariaDB, the source of truth"),
  OTEL_EXPORTER_OTLP_ENDPOINT: z
    .url({ protocol: /^https?$/ })
    .optional()
    .describe(
      "OTLP/HTTP collector base URL (traces go to <url>/v1/traces): one trace per request across API, queue and worker; unset = tracing off",
    ),
  DB_POOL_MAX: integer(20, { min: 1, max: 500 }).describe("Max MySQL connections per process"),
  WRITER_CONNECTIONS: integer(1, { min: 1, max: 50 }).describe(
    "Group-commit transactions in flight at once per worker process: writes queue while they run, so fewer means bigger batches (1: ~20 writes per transaction under load, a third fewer statements than 2)",
  ),
  FLUSH_WINDOW_MS: integer(500, { min: 10, max: 60_000 }).describe(
    "Committed stock decrements reach product_details at most this long after their commit (one flush job per window per process; the available figure counts them at once)",
  ),
  WRITER_MAX_BATCH: integer(200, { min: 1, max: 5000 }).describe(
    "Most queued writes one group-commit transaction takes",
  ),
  LOG_LEVEL: z
    .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"])
    .default("info")
    .describe("Log level"),
  MAX_BODY_BYTES: integer(16_384, { min: 256, max: 10_000_000 }).describe("Largest accepted request body"),
  HTTP_HEADERS_TIMEOUT_MS: integer(10_000, { min: 100 }).describe(
    "API: a connection whose request headers have not all arrived after this is closed (at most HTTP_REQUEST_TIMEOUT_MS)",
  ),
  HTTP_REQUEST_TIMEOUT_MS: integer(30_000, { min: 100 }).describe(
    "API: a request whose body has not all arrived after this is answered 408 and its connection closed",
  ),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: integer(5_000, { min: 100 }).describe(
    "API: an idle keep-alive connection is closed after this (behind a load balancer, set it above the balancer's idle timeout)",
  ),
  HTTP_MAX_CONNECTIONS: integer(2_000, { min: 1 }).describe(
    "API: open connections per process; more are closed at once",
  ),
  CART_TIMEOUT_MS: int(5_000).describe("How long the API waits for a cart job before answering 504"),
  CHECKOUT_TIMEOUT_MS: int(8_000).describe("How long the API waits for a checkout before answering 202 Pending"),
  HOLD_TTL_MS: integer(300_000, { min: 1_000 }).describe("Lifetime of a stock hold that has not started payment"),
  HOLD_SWEEP_INTERVAL_MS: integer(5_000, { min: 100 }).describe("How often expired holds are swept"),
  ORPHAN_AFTER_MS: integer(10_000, { min: 1_000 }).describe(
    "A pending order whose checkout job is gone (lost with Redis's data, failed for good) is ended this long after it was last touched, by the sweep every HOLD_SWEEP_INTERVAL_MS: every order a client was told about ends within about the two (an order with a live job is never swept)",
  ),
  REFUND_SWEEP_AFTER_MS: integer(30_000, { min: 1_000 }).describe(
    "A refund recorded but not yet confirmed by the payment provider (its job lost, failed, or never queued) is carried by the sweep every HOLD_SWEEP_INTERVAL_MS once it was last tried this long ago",
  ),
  HOLD_RETENTION_MS: integer(120_000, { min: 60_000 }).describe(
    "How long an ended hold is remembered in Redis, for a job re-delivered before its order is final in MySQL (retries and stall recovery take well under this); once final, a replay never reads it",
  ),
  FLUSH_INTERVAL_MS: integer(5_000, { min: 100 }).describe("Safety-net interval of the stock flush to MySQL"),
  FLUSH_BATCH_SIZE: integer(200, { min: 1, max: 10_000 }).describe(
    "reserve_purchase rows applied per flush transaction",
  ),
  CHECKOUT_LOCK_TTL_MS: integer(120_000, { min: 1_000 }).describe(
    "How long one client's checkout excludes a second one",
  ),
  WORKER_QUEUES: z
    .string()
    .default("cart,checkout,inventory")
    .transform((s) =>
      s
        .split(",")
        .map((q) => q.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.enum(["cart", "checkout", "inventory"])).min(1))
    .describe("Queues a worker process consumes (comma-separated)"),
  WORKER_CONCURRENCY_CART: integer(50, { min: 1, max: 1000 }).describe("Concurrent cart jobs per worker process"),
  WORKER_CONCURRENCY_CHECKOUT: integer(50, { min: 1, max: 1000 }).describe(
    "Concurrent checkout jobs per worker process",
  ),
  JOB_ATTEMPTS: integer(6, { min: 1, max: 50 }).describe("Deliveries of a job before it fails for good"),
  JOB_BACKOFF_MS: integer(500, { min: 10 }).describe("Base of the exponential retry backoff"),
  OUTAGE_RETRY_MS: integer(1_000, { min: 100, max: 60_000 }).describe(
    "A checkout that finds MySQL or Redis unreachable is tried again after about this long (jittered), without spending one of its JOB_ATTEMPTS: an outage of any length fails no order, and each ends within about this long of the database answering again",
  ),
  CART_REPLAY_RETENTION_MS: integer(3_600_000, { min: 600_000 }).describe(
    "How long an applied add/set/clear cart job's record (cart_operations) is kept: it must outlast every re-delivery of that job, i.e. its retries (under a second), stall recovery (MAX_STALLED x (JOB_LOCK_MS + STALLED_CHECK_MS), ~4 min by default) and an operator running a finished cart job again, which is why finished cart jobs are kept no longer; older records are pruned every minute",
  ),
  JOB_LOCK_MS: integer(30_000, { min: 1_000 }).describe(
    "BullMQ lockDuration: a job whose worker stops renewing its lock (killed, frozen) is delivered again after this",
  ),
  STALLED_CHECK_MS: integer(15_000, { min: 500 }).describe(
    "BullMQ stalledInterval: how often workers look for jobs whose lock lapsed",
  ),
  MAX_STALLED: integer(5, { min: 1 }).describe(
    "Times a job may stall (its worker died) before it fails for good; the final-failure path then ends it",
  ),
  SHUTDOWN_GRACE_MS: integer(10_000, { min: 100 }).describe("Time given to in-flight work on SIGTERM"),
  PAYMENT_SIM_LATENCY_MS: int(20).describe("Simulated payment network latency"),
  PAYMENT_SIM_TRANSIENT_FAILURES: int(2).describe("Times token tok_error fails before it succeeds"),
  PAYMENT_SIM_DECLINE_ABOVE_CENTS: z.coerce
    .number()
    .int()
    .positive()
    .optional()
    .describe("Decline charges above this amount"),
  RECONCILE_INTERVAL_MS: integer(60_000, { min: 1_000 }).describe(
    "How often the reconciler compares cached stock with MySQL",
  ),
  EVENTS_RELAY_INTERVAL_MS: integer(500, { min: 10, max: 60_000 }).describe(
    "How often the outbox relay (in the worker processes that consume `inventory`) moves new event rows into the `events` queue",
  ),
  EVENTS_RELAY_BATCH: integer(500, { min: 1, max: 5_000 }).describe("Most outbox rows the relay moves per transaction"),
  STOCK_LOW_THRESHOLD: integer(5, { min: 0 }).describe(
    "A product whose MySQL level falls from above this to this or below (and not to 0) emits `stock.low`; reaching 0 emits `stock.out`",
  ),
  WEBHOOK_TIMEOUT_MS: integer(10_000, { min: 100, max: 60_000 }).describe(
    "A webhook receiver that has not answered within this fails the attempt",
  ),
  WEBHOOK_BACKOFF_MS: integer(10_000, { min: 10 }).describe(
    "Wait after a webhook delivery's first failed attempt; it doubles with each failure, up to WEBHOOK_BACKOFF_MAX_MS",
  ),
  WEBHOOK_BACKOFF_MAX_MS: integer(3_600_000, { min: 10 }).describe(
    "Longest wait between two attempts of a webhook delivery",
  ),
  WEBHOOK_RETRY_FOR_MS: integer(259_200_000, { min: 100 }).describe(
    "How long a webhook delivery is retried, from its first attempt, before it is given up as failed (default 3 days; keep it at least a day in production)",
  ),
  EVENTS_RETENTION_MS: integer(2_592_000_000, { min: 60_000 }).describe(
    "How long relayed events and ended webhook deliveries (with their attempts) are kept (default 30 days); older ones are pruned every minute, never an event a pending delivery still needs",
  ),
  WEBHOOK_CONCURRENCY: integer(20, { min: 1, max: 1000 }).describe(
    "Webhook deliveries in flight at once per worker process that consumes `inventory`",
  ),
  IDEMPOTENCY_TTL_MS: integer(86_400_000, { min: 1_000 }).describe(
    "How long an Idempotency-Key's stored answer is kept",
  ),
  ADMIN_TOKEN: z
    .string()
    .min(16, "must be at least 16 characters")
    .optional()
    .describe("Bearer token of the admin API, and the password of user `admin` on Bull Board; unset disables both"),
  VIEWER_TOKEN: z
    .string()
    .min(16, "must be at least 16 characters")
    .optional()
    .describe("Password of user `viewer`: Bull Board read-only"),
  BULL_BOARD_PATH: z
    .string()
    .regex(/^(\/[A-Za-z0-9._-]+)+$/, "must be a path such as /admin/queues")
    .default("/admin/queues")
    .describe("Where Bull Board is mounted"),
  PUBLIC_BASE_PATH: z
    .string()
    .regex(/^(\/[A-Za-z0-9._-]+)*$/, "must be empty or a path such as /shop")
    .default("")
    .describe("Path prefix a reverse proxy adds in front of the API (for Bull Board's asset links)"),
  JWT_SECRET: z
    .string()
    .min(32, "must be at least 32 characters")
    .optional()
    .describe(
      "When set, cart, checkout and order reads need a bearer JWT (HS256) whose subject is the clientID; it also keys keyed order ids",
    ),
  JWT_MAX_AGE_S: integer(3_600, { min: 1 }).describe(
    "Oldest client JWT accepted, by its iat; tokens must carry exp and iat",
  ),
  RATE_LIMIT_PER_MINUTE: integer(600, { min: 0 }).describe("Requests per client per minute (0 = no limit)"),
  METRICS_PORT: int(0).describe("Port of a worker process's /metrics, /healthz and /readyz (0 = none)"),
  WORKER_STALL_ALERT_MS: integer(30_000, { min: 1_000 }).describe(
    "A worker with waiting jobs and free capacity that started none for this long is not ready",
  ),
  RESULT_PATH: z
    .enum(["reply", "events"])
    .default("reply")
    .describe(
      "How an API process gets job results: its own reply key, or BullMQ's shared event stream (for comparison)",
    ),
  INVENTORY_MODE: z
    .enum(["redis", "mysql-locking", "mysql-batched"])
    .default("redis")
    .describe(
      "Benchmark only: `mysql-locking` reserves with row locks in MySQL per checkout (the classic design), `mysql-batched` with conditional decrements per group-commit batch, instead of Redis Lua",
    ),
  BENCH_NOOP_WORKERS: bool(false).describe(
    "Benchmark only: workers answer every cart and checkout job at once, doing nothing",
  ),
  CHAOS_CRASH_AT: z
    .enum(["created", "reserved", "committing", "charged", "committed", "finished", "mid-batch", "refund-answered"])
    .optional()
    .describe(
      "Testing only: a worker kills itself (SIGKILL) after this checkout step, (mid-batch) inside a group-commit transaction before it commits, or (refund-answered) after the provider confirmed a refund and before the refund is marked done",
    ),
  CHAOS_CRASH_LIMIT: integer(1, { min: 0 }).describe(
    "Testing only: how many such crashes of that step across all workers",
  ),
  SEED_ON_START: bool(true).describe(
    "`npm start` (the local demo) only: load the demo catalog when the catalog is empty; the API, workers and image never seed",
  ),
  AUTOSCALE_WORKERS: z
    .string()
    .regex(
      /^(cart|checkout|inventory)=\d{1,2}:\d{1,2}(,(cart|checkout|inventory)=\d{1,2}:\d{1,2})*$/,
      "must be queue=min:max pairs such as cart=1:2,checkout=1:4 (queues: cart, checkout, inventory)",
    )
    .refine((spec) => new Set(spec.split(",").map((pair) => pair.split("=")[0])).size === spec.split(",").length, {
      message: "names a queue twice",
    })
    .refine(
      (spec) =>
        spec.split(",").every((pair) => {
          const [min = 0, max = 0] = (pair.split("=")[1] ?? "").split(":").map(Number);
          return min <= max && max >= 1 && max <= 64;
        }),
      { message: "each queue needs min <= max and 1 <= max <= 64" },
    )
    .default("cart=1:2,checkout=1:4,inventory=1:1")
    .describe("Autoscaler: the queues it runs worker processes for, each with its min:max processes"),
  AUTOSCALE_TARGET_BACKLOG: integer(100, { min: 1 }).describe(
    "Autoscaler: backlog (waiting, prioritized, delayed and active jobs) one worker process should carry",
  ),
  AUTOSCALE_MAX_WAIT_MS: integer(2_000, { min: 1 }).describe(
    "Autoscaler: a queue whose oldest waiting job has waited longer than this gets one more process",
  ),
  AUTOSCALE_COOLDOWN_MS: int(60_000).describe(
    "Autoscaler: how long a queue must need fewer processes before they are retired",
  ),
  AUTOSCALE_POLL_INTERVAL_MS: integer(2_000, { min: 50 }).describe(
    "Autoscaler: how often queues are measured and decisions applied",
  ),
  AUTOSCALE_HUNG_WORKER_MS: int(15_000)
    .refine((ms) => ms === 0 || ms >= 3_000, {
      message: "must be 0 (off) or at least 3000: workers beat once a second",
    })
    .describe(
      "Autoscaler: a consuming worker process whose heartbeat stops this long (frozen, event loop blocked) is SIGKILLed and replaced; 0 = never",
    ),
  AUTOSCALE_METRICS_PORT: int(5004).describe("Autoscaler: port of its /metrics, /healthz and /readyz (0 = none)"),
  AUTOSCALE_OBSERVE_ONLY: bool(false).describe(
    "Autoscaler: measure and export the queue metrics without running workers (the metrics source for KEDA)",
  ),
});

export type Config = z.infer<typeof ConfigSchema>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** Parses the environment once; a bad value throws a ConfigError naming each setting. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const relevant = Object.fromEntries(
    Object.keys(ConfigSchema.shape)
      .filter((k) => env[k] !== undefined && env[k] !== "")
      .map((k) => [k, env[k]]),
  );
  const parsed = ConfigSchema.safeParse(relevant);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`));
  }
  const problems = redisModeProblems(parsed.data);
  if (problems.length > 0) throw new ConfigError(problems);
  return parsed.data;
}

/** The Redis settings that only make sense together (each alone is checked by the schema). */
function redisModeProblems(c: Config): string[] {
  const problems: string[] = [];
  if (c.REDIS_SENTINELS && c.REDIS_CLUSTER_NODES)
    problems.push("REDIS_SENTINELS: cannot be set together with REDIS_CLUSTER_NODES (choose Sentinel or Cluster)");
  if (c.REDIS_SENTINELS && !c.REDIS_SENTINEL_NAME)
    problems.push("REDIS_SENTINEL_NAME: required with REDIS_SENTINELS (the primary's name in the sentinels)");
  if (c.REDIS_SENTINEL_NAME && !c.REDIS_SENTINELS)
    problems.push("REDIS_SENTINELS: required with REDIS_SENTINEL_NAME (where the sentinels listen)");
  return problems;
}

/**
 * Runs a process's start-up; a failure prints one line (a bad setting names itself)
 * instead of a stack trace, and the process exits 1.
 */
export function runEntryPoint(what: string, main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    const message =
      err instanceof ConfigError
        ? err.message
        : `${what} failed to start: ${err instanceof Error ? err.message : String(err)}`;
    console.error(message);
    process.exit(1);
  });
}
