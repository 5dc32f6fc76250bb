import { QueueEvents, type Queue } from "bullmq";
import type { Redis } from "ioredis";
import {
  QUEUE_NAMES,
  createDb,
  createQueue,
  createRedis,
  keyspace,
  type Config,
  type Keyspace,
  type Knex,
  type Logger,
} from "@oms/shared";
import { InventoryEngine, mysqlTruth } from "@oms/inventory";
import { JobResults } from "./results";
import { createApiMetrics, type ApiMetrics } from "./observability/metrics";

export interface ApiDeps {
  config: Config;
  logger: Logger;
  keys: Keyspace;
  db: Knex;
  /** Fails fast while disconnected, so requests get a 503 instead of waiting. */
  redis: Redis;
  engine: InventoryEngine;
  queues: { cart: Queue; checkout: Queue; inventory: Queue };
  metrics: ApiMetrics;
  results: { cart: JobResults; checkout: JobResults };
  close(): Promise<void>;
}

export async function createApiDeps(config: Config, logger: Logger): Promise<ApiDeps> {
  const keys = keyspace(config.REDIS_PREFIX);
  const db = createDb(config.DATABASE_URL, config.DB_POOL_MAX);
  const redis = createRedis(config.REDIS_URL, { name: "api" });
  const eventsConnection = createRedis(config.REDIS_URL, { forQueue: true, name: "api-events" });
  const queues = {
    cart: createQueue("cart", redis, keys.queuePrefix, config),
    checkout: createQueue("checkout", redis, keys.queuePrefix, config),
    inventory: createQueue("inventory", redis, keys.queuePrefix, config),
  };
  // Without a listener BullMQ prints a queue's connection errors to stderr, outside the JSON logs.
  for (const [name, queue] of Object.entries(queues))
    queue.on("error", (err) => logger.warn({ queue: name, err: err.message }, "queue connection error"));
  const events = {
    cart: new QueueEvents(QUEUE_NAMES.cart, { connection: eventsConnection, prefix: keys.queuePrefix }),
    checkout: new QueueEvents(QUEUE_NAMES.checkout, { connection: eventsConnection, prefix: keys.queuePrefix }),
  };
  for (const e of Object.values(events))
    e.on("error", (err) => logger.warn({ err: err.message }, "queue events error"));
  // Results are read from the moment QueueEvents is reading; wait for that, but a Redis
  // that is down must not stop the API from starting and answering 503.
  await Promise.race([Promise.all(Object.values(events).map((e) => e.waitUntilReady())), sleep(3_000)]);
  return {
    config,
    logger,
    keys,
    db,
    redis,
    engine: new InventoryEngine(redis, keys, mysqlTruth(db), { requireEpoch: true }),
    queues,
    metrics: createApiMetrics(redis, keys, queues),
    results: {
      cart: new JobResults(queues.cart, events.cart),
      checkout: new JobResults(queues.checkout, events.checkout),
    },
    async close() {
      // Bounded: BullMQ's close waits for a connection that a dead Redis never gives.
      const closing = Promise.all(
        [...Object.values(events), ...Object.values(queues)].map((c) => c.close().catch(() => undefined)),
      );
      await Promise.race([closing, sleep(2_000)]);
      redis.disconnect();
      eventsConnection.disconnect();
      await db.destroy();
    },
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
