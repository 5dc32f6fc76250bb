import { randomUUID } from "node:crypto";
import type { Queue } from "bullmq";
import {
  logFailure,
  createDb,
  createEventQueue,
  createQueue,
  createRedis,
  redisTarget,
  replicaWait,
  keyspace,
  type ApiConfig,
  type Keyspace,
  type Knex,
  type Logger,
  type RedisClient,
} from "@oms/shared";
import { InventoryEngine, mysqlTruth } from "@oms/inventory";
import { JobResults } from "./job-results";
import { orderIdKey } from "./handlers/order-id";
import { listenForReplies, listenToQueueEvents } from "./result-sources";
import { createApiMetrics, type ApiMetrics } from "./observability/metrics";

/**
 * What an API process is built with besides its settings, chosen by its entry point:
 * production's takes the defaults; the benchmark's and the tests' choose otherwise.
 */
export interface ApiWiring {
  /**
   * How job results reach this process: its own reply key (default), or BullMQ's shared
   * event stream, which every API process reads in full (kept to compare the two).
   */
  resultPath?: "reply" | "events";
  /**
   * Whether a checkout may be refused from the cached levels without a job (default on).
   * Off when the workers reserve in MySQL alone and keep no cache (the bench's baselines).
   */
  soldOutFastPath?: boolean;
}

export interface ApiDeps {
  config: ApiConfig;
  logger: Logger;
  keys: Keyspace;
  db: Knex;
  /** Fails fast while disconnected, so requests get a 503 instead of waiting. */
  redis: RedisClient;
  engine: InventoryEngine;
  /** The work queues, and the event pipeline's (events, webhooks) for Bull Board and the metrics. */
  queues: { cart: Queue; checkout: Queue; inventory: Queue; events: Queue; webhooks: Queue };
  metrics: ApiMetrics;
  results: { cart: JobResults; checkout: JobResults };
  /** Keys the HMAC of keyed order ids (handlers/order-id.ts). */
  orderIdKey: Buffer;
  /** The reply key workers push this process's results to (unset when results come from the event stream). */
  replyTo: string | undefined;
  /** See ApiWiring.soldOutFastPath. */
  soldOutFastPath: boolean;
  close(): Promise<void>;
}

export async function createApiDeps(config: ApiConfig, logger: Logger, wiring: ApiWiring = {}): Promise<ApiDeps> {
  const { resultPath = "reply", soldOutFastPath = true } = wiring;
  const keys = keyspace(config.REDIS_PREFIX, config.INVENTORY_SHARDS);
  const db = createDb(config.DATABASE_URL, config.DB_POOL_MAX, true, { logger });
  const redis = createRedis(redisTarget(config), { name: "api" });
  const queues = {
    cart: createQueue("cart", redis, keys, config),
    checkout: createQueue("checkout", redis, keys, config),
    inventory: createQueue("inventory", redis, keys, config),
    events: createEventQueue("events", redis, keys),
    webhooks: createEventQueue("webhooks", redis, keys),
  };
  // Without a listener BullMQ prints a queue's connection errors to stderr, outside the JSON logs.
  for (const [name, queue] of Object.entries(queues))
    queue.on("error", (err) => logger.warn({ queue: name, err: err.message }, "queue connection error"));
  // Serve once Redis answers (commands fail fast while it does not), but a Redis that is
  // down must not stop the API from starting and answering 503.
  if (redis.status !== "ready") await Promise.race([new Promise((r) => redis.once("ready", r)), sleep(3_000)]);
  const results = { cart: new JobResults(queues.cart), checkout: new JobResults(queues.checkout) };
  const apiId = randomUUID();
  const replyTo = keys.reply(apiId);
  // A blocking connection of its own: the reply key is popped with BLPOP.
  const resultConnection = createRedis(redisTarget(config), { forQueue: true, name: "api-results" });
  const resultSource =
    resultPath === "reply"
      ? listenForReplies(resultConnection, replyTo, results, logger)
      : await listenToQueueEvents(resultConnection, keys, results, logger);
  return {
    config,
    logger,
    keys,
    db,
    redis,
    engine: new InventoryEngine(redis, keys, mysqlTruth(db), {
      requireEpoch: true,
      replicated: replicaWait(redis, config),
    }),
    queues,
    metrics: createApiMetrics(redis, keys, queues, db),
    orderIdKey: orderIdKey(config.JWT_SECRET),
    results,
    replyTo: resultPath === "reply" ? replyTo : undefined,
    soldOutFastPath,
    async close() {
      // Bounded: BullMQ's close waits for a connection that a dead Redis never gives.
      const closing = Promise.all([
        resultSource.close(),
        // Shutting down: a queue whose Redis is gone has nothing left to close.
        ...Object.values(queues).map((q) => q.close().catch(logFailure(logger, "queue not closed", "debug"))),
      ]);
      await Promise.race([closing, sleep(2_000)]);
      redis.disconnect();
      resultConnection.disconnect();
      await db.destroy();
    },
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
