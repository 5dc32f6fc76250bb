import { Queue } from "bullmq";
import {
  createDb,
  createQueue,
  createRedis,
  redisTarget,
  replicaWait,
  keyspace,
  type Config,
  type Keyspace,
  type Knex,
  type Logger,
  type RedisClient,
} from "@oms/shared";
import { InventoryEngine, mysqlTruth } from "@oms/inventory";
import { SimulatedPaymentProvider } from "./payment/simulator";
import type { PaymentProvider, RefundGateway } from "./payment/provider";
import { OrderStore } from "./checkout/order-store";
import { GroupCommitWriter } from "./db/writer";
import { chaosKiller } from "./chaos";
import { addToCarts } from "./cart/cart-writes";
import { clearCarts, setCartLines } from "./cart/cart-edit-writes";
import { createPendingOrders } from "./checkout/order-writes";
import { completeOrders, failOrders } from "./checkout/order-end-writes";
import { recordFirstAttempts } from "./payment/payment-writes";
import { releaseInMysql, reserveInMysql } from "./checkout/mysql-stock-writes";

/**
 * The order in which a batch writes its kinds, the same in every process: carts, then
 * new orders (which lock cart rows), payments, then commits and failures (which lock
 * order rows and delete cart rows). One order of locks keeps batches from deadlocking.
 */
const WRITE_ORDER = [
  addToCarts,
  setCartLines,
  clearCarts,
  createPendingOrders,
  reserveInMysql,
  recordFirstAttempts,
  completeOrders,
  failOrders,
  releaseInMysql,
].map((k) => k.name);
import { createWorkerMetrics, type WorkerMetrics } from "./observability/metrics";
import { outcomeCounter } from "./observability/outcomes";

export interface WorkerDeps {
  config: Config;
  logger: Logger;
  keys: Keyspace;
  db: Knex;
  redis: RedisClient;
  engine: InventoryEngine;
  /** Group commit: every per-checkout and per-add MySQL write of this process goes through it. */
  writer: GroupCommitWriter;
  orders: OrderStore;
  payment: PaymentProvider;
  /** Refunds of completed orders (cancel, refund); the simulator unless a test brings its own. */
  refunds: RefundGateway;
  inventoryQueue: Queue;
  checkoutQueue: Queue;
  metrics: WorkerMetrics;
  close(): Promise<void>;
}

export function createWorkerDeps(
  config: Config,
  logger: Logger,
  overrides: { payment?: PaymentProvider; refunds?: RefundGateway } = {},
): WorkerDeps {
  const keys = keyspace(config.REDIS_PREFIX, config.INVENTORY_SHARDS);
  const db = createDb(config.DATABASE_URL, config.DB_POOL_MAX, true, { logger });
  const redis = createRedis(redisTarget(config), { forQueue: true, name: "workers" });
  const engine = new InventoryEngine(redis, keys, mysqlTruth(db), {
    requireEpoch: true,
    retentionMs: config.HOLD_RETENTION_MS,
    replicated: replicaWait(redis, config),
  });
  const metrics = createWorkerMetrics();
  const chaos = chaosKiller(config, redis, keys, logger);
  const writerDb = createDb(config.DATABASE_URL, config.WRITER_CONNECTIONS, true, {
    sessionIsolation: "read committed",
    logger,
  });
  const writer = new GroupCommitWriter(writerDb, {
    connections: config.WRITER_CONNECTIONS,
    maxBatch: config.WRITER_MAX_BATCH,
    kindOrder: WRITE_ORDER,
    onBatch: (size, ok) => metrics.writeBatchSize.observe({ outcome: ok ? "committed" : "failed" }, size),
    ...(chaos ? { beforeCommit: () => chaos("mid-batch") } : {}),
  });
  const simulator = new SimulatedPaymentProvider(
    db,
    {
      latencyMs: config.PAYMENT_SIM_LATENCY_MS,
      transientFailures: config.PAYMENT_SIM_TRANSIENT_FAILURES,
      declineAboveCents: config.PAYMENT_SIM_DECLINE_ABOVE_CENTS,
    },
    writer,
  );
  const payment = overrides.payment ?? simulator;
  const refunds = overrides.refunds ?? simulator;
  const inventoryQueue = createQueue("inventory", redis, keys, config);
  const checkoutQueue = createQueue("checkout", redis, keys, config);
  for (const queue of [inventoryQueue, checkoutQueue]) {
    queue.on("error", (err) => logger.warn({ queue: queue.name, err: err.message }, "queue connection error"));
  }
  return {
    config,
    logger,
    keys,
    db,
    redis,
    engine,
    writer,
    orders: new OrderStore(db, writer, outcomeCounter(redis, keys, logger)),
    payment,
    refunds,
    inventoryQueue,
    checkoutQueue,
    metrics,
    async close() {
      await inventoryQueue.close();
      await checkoutQueue.close();
      await writerDb.destroy();
      await db.destroy();
      redis.disconnect();
    },
  };
}

/**
 * One flush job per window (FLUSH_WINDOW_MS), run when the window ends, so it covers every commit
 * made in it: the first commit of a window in this process schedules it, the others
 * skip the queue (a queue add per checkout cost more than the flush).
 */
export function requestFlush(queue: Queue, windowMs = 100): () => Promise<void> {
  let scheduledWindow = -1;
  return async () => {
    const now = Date.now();
    const window = Math.floor(now / windowMs);
    if (window === scheduledWindow) return;
    scheduledWindow = window;
    try {
      await queue.add(
        "flush",
        { type: "flush" },
        {
          jobId: `flush-${window}`,
          delay: (window + 1) * windowMs - now,
          removeOnComplete: true,
          removeOnFail: 1_000,
        },
      );
    } catch (err) {
      scheduledWindow = -1;
      throw err;
    }
  };
}
