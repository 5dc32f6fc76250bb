import { z } from "zod";
import { BASE_SETTINGS } from "./base";
import { integer, nameList, nonNegative, port } from "./settings";

/** How a worker process consumes its queues and hands jobs back when it dies. */
const CONSUMING = {
  WORKER_QUEUES: nameList(["cart", "checkout", "inventory"], "cart,checkout,inventory").describe(
    "Queues a worker process consumes (comma-separated)",
  ),
  WORKER_CONCURRENCY_CART: integer(50, { min: 1, max: 1000 }).describe("Concurrent cart jobs per worker process"),
  WORKER_CONCURRENCY_CHECKOUT: integer(50, { min: 1, max: 1000 }).describe(
    "Concurrent checkout jobs per worker process",
  ),
  OUTAGE_RETRY_MS: integer(1_000, { min: 100, max: 60_000 }).describe(
    "A checkout that finds MySQL or Redis unreachable is tried again after about this long (jittered), without spending one of its JOB_ATTEMPTS: an outage of any length fails no order, and each ends within about this long of the database answering again",
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
  METRICS_PORT: port(0).describe("Port of a worker process's /metrics, /healthz and /readyz (0 = none)"),
  WORKER_STALL_ALERT_MS: integer(30_000, { min: 1_000 }).describe(
    "A worker with waiting jobs and free capacity that started none for this long is not ready",
  ),
};

/** How checkouts write to MySQL and how stock held in Redis reaches it. */
const ORDERS_AND_STOCK = {
  WRITER_CONNECTIONS: integer(1, { min: 1, max: 50 }).describe(
    "Group-commit transactions in flight at once per worker process: writes queue while they run, so fewer means bigger batches (1: ~20 writes per transaction under load, a third fewer statements than 2)",
  ),
  WRITER_MAX_BATCH: integer(200, { min: 1, max: 5000 }).describe(
    "Most queued writes one group-commit transaction takes",
  ),
  FLUSH_WINDOW_MS: integer(500, { min: 10, max: 60_000 }).describe(
    "Committed stock decrements reach product_details at most this long after their commit (one flush job per window per process; the available figure counts them at once)",
  ),
  FLUSH_INTERVAL_MS: integer(5_000, { min: 100 }).describe("Safety-net interval of the stock flush to MySQL"),
  FLUSH_BATCH_SIZE: integer(200, { min: 1, max: 10_000 }).describe(
    "reserve_purchase rows applied per flush transaction",
  ),
  HOLD_TTL_MS: integer(300_000, { min: 1_000 }).describe("Lifetime of a stock hold that has not started payment"),
  HOLD_SWEEP_INTERVAL_MS: integer(5_000, { min: 100 }).describe("How often expired holds are swept"),
  HOLD_RETENTION_MS: integer(120_000, { min: 60_000 }).describe(
    "How long an ended hold is remembered in Redis, for a job re-delivered before its order is final in MySQL (retries and stall recovery take well under this); once final, a replay never reads it",
  ),
  ORPHAN_AFTER_MS: integer(10_000, { min: 1_000 }).describe(
    "A pending order whose checkout job is gone (lost with Redis's data, failed for good) is ended this long after it was last touched, by the sweep every HOLD_SWEEP_INTERVAL_MS: every order a client was told about ends within about the two (an order with a live job is never swept)",
  ),
  REFUND_SWEEP_AFTER_MS: integer(30_000, { min: 1_000 }).describe(
    "A refund recorded but not yet confirmed by the payment provider (its job lost, failed, or never queued) is carried by the sweep every HOLD_SWEEP_INTERVAL_MS once it was last tried this long ago",
  ),
  RECONCILE_INTERVAL_MS: integer(60_000, { min: 1_000 }).describe(
    "How often the reconciler compares cached stock with MySQL",
  ),
  STOCK_LOW_THRESHOLD: integer(5, { min: 0 }).describe(
    "A product whose MySQL level falls from above this to this or below (and not to 0) emits `stock.low`; reaching 0 emits `stock.out`",
  ),
  PAYMENT_SIM_LATENCY_MS: nonNegative(20).describe("Simulated payment network latency"),
  PAYMENT_SIM_TRANSIENT_FAILURES: nonNegative(2).describe("Times token tok_error fails before it succeeds"),
  PAYMENT_SIM_DECLINE_ABOVE_CENTS: z.coerce
    .number()
    .int()
    .positive()
    .optional()
    .describe("Decline charges above this amount (unset: none)"),
};

/** The outbox relay and webhook deliveries (in the processes that consume `inventory`). */
const EVENTS = {
  EVENTS_RELAY_INTERVAL_MS: integer(500, { min: 10, max: 60_000 }).describe(
    "How often the outbox relay (in the worker processes that consume `inventory`) moves new event rows into the `events` queue",
  ),
  EVENTS_RELAY_BATCH: integer(500, { min: 1, max: 5_000 }).describe("Most outbox rows the relay moves per transaction"),
  EVENTS_RETENTION_MS: integer(2_592_000_000, { min: 60_000 }).describe(
    "How long relayed events and ended webhook deliveries (with their attempts) are kept (default 30 days); older ones are pruned every minute, never an event a pending delivery still needs",
  ),
  WEBHOOK_CONCURRENCY: integer(20, { min: 1, max: 1000 }).describe(
    "Webhook deliveries in flight at once per worker process that consumes `inventory`",
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
};

export const WORKER_SETTINGS = { ...CONSUMING, ...ORDERS_AND_STOCK, ...EVENTS };

export const WorkerSchema = z.object({ ...BASE_SETTINGS, ...WORKER_SETTINGS });
export type WorkerConfig = z.infer<typeof WorkerSchema>;
