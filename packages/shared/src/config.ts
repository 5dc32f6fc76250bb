import { z } from "zod";

const int = (def: number) => z.coerce.number().int().nonnegative().default(def);
const bool = (def: boolean) => z.stringbool().default(def);

/** Every setting the system reads from the environment, each with what it means. */
export const ConfigSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development").describe("Runtime mode"),
  HOST: z.string().min(1).default("0.0.0.0").describe("Interface the API listens on"),
  PORT: z.coerce.number().int().min(0).max(65535).default(5003).describe("API port (5003, as the original service)"),
  REDIS_URL: z
    .url({ protocol: /^rediss?$/ })
    .default("redis://127.0.0.1:6379")
    .describe("Redis for queues, stock cache and holds"),
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,40}$/, "letters, digits, '_', '.', '-' only (it becomes the {hash tag})")
    .default("oms")
    .describe("Key prefix; used as one Redis Cluster hash tag {prefix} for every key"),
  DATABASE_URL: z
    .url({ protocol: /^mysql2?$/ })
    .default("mysql://root@127.0.0.1:3306/orders")
    .describe("MySQL/MariaDB, the source of truth"),
  DB_POOL_MAX: z.coerce.number().int().min(1).max(500).default(20).describe("Max MySQL connections per process"),
  LOG_LEVEL: z
    .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"])
    .default("info")
    .describe("Log level"),
  MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .min(256)
    .max(10_000_000)
    .default(16_384)
    .describe("Largest accepted request body"),
  CART_TIMEOUT_MS: int(5_000).describe("How long the API waits for a cart job before answering 504"),
  CHECKOUT_TIMEOUT_MS: int(8_000).describe("How long the API waits for a checkout before answering 202 Pending"),
  HOLD_TTL_MS: z.coerce
    .number()
    .int()
    .min(1_000)
    .default(300_000)
    .describe("Lifetime of a stock hold that has not started payment"),
  HOLD_SWEEP_INTERVAL_MS: z.coerce.number().int().min(100).default(5_000).describe("How often expired holds are swept"),
  FLUSH_INTERVAL_MS: z.coerce
    .number()
    .int()
    .min(100)
    .default(5_000)
    .describe("Safety-net interval of the stock flush to MySQL"),
  FLUSH_BATCH_SIZE: z.coerce
    .number()
    .int()
    .min(1)
    .max(10_000)
    .default(1_000)
    .describe("reserve_purchase rows applied per flush transaction"),
  CHECKOUT_LOCK_TTL_MS: z.coerce
    .number()
    .int()
    .min(1_000)
    .default(120_000)
    .describe("How long one client's checkout excludes a second one"),
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
  WORKER_CONCURRENCY_CART: z.coerce
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(50)
    .describe("Concurrent cart jobs per worker process"),
  WORKER_CONCURRENCY_CHECKOUT: z.coerce
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(50)
    .describe("Concurrent checkout jobs per worker process"),
  WORKER_PROCESSES: z.coerce.number().int().min(1).max(64).default(2).describe("Worker processes `npm start` runs"),
  JOB_ATTEMPTS: z.coerce
    .number()
    .int()
    .min(1)
    .max(50)
    .default(6)
    .describe("Deliveries of a job before it fails for good"),
  JOB_BACKOFF_MS: z.coerce.number().int().min(10).default(500).describe("Base of the exponential retry backoff"),
  SHUTDOWN_GRACE_MS: z.coerce
    .number()
    .int()
    .min(100)
    .default(10_000)
    .describe("Time given to in-flight work on SIGTERM"),
  PAYMENT_SIM_LATENCY_MS: int(20).describe("Simulated payment network latency"),
  PAYMENT_SIM_TRANSIENT_FAILURES: int(2).describe("Times token tok_error fails before it succeeds"),
  PAYMENT_SIM_DECLINE_ABOVE_CENTS: z.coerce
    .number()
    .int()
    .positive()
    .optional()
    .describe("Decline charges above this amount"),
  SEED_ON_START: bool(true).describe("Load the demo catalog on start when the catalog is empty"),
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
  return parsed.data;
}
