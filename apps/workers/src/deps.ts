import type { Queue } from "bullmq";
import {
  createDb,
  createQueue,
  createRedis,
  redisTarget,
  replicaWait,
  keyspace,
  type WorkerConfig,
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
import type { CheckpointContext, CheckpointHook } from "./checkpoints";
import { redisReservation, type ReservationStrategy } from "./checkout/reservation";
import { addToCarts } from "./cart/cart-writes";
import { clearCarts, setCartLines } from "./cart/cart-edit-writes";
import { createPendingOrders } from "./checkout/order-writes";
import { completeOrders, failOrders } from "./checkout/order-end-writes";
import { recordFirstAttempts } from "./payment/payment-writes";
import { releaseInMysql, reserveInMysql } from "./checkout/mysql-stock-writes";
import { createWorkerMetrics, type WorkerMetrics } from "./observability/metrics";
import { outcomeCounter } from "./observability/outcomes";

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

/**
 * What a worker process is built with besides its settings: chosen by the entry point
 * (production's, the benchmark's, the chaos suite's), each part defaulting to production's.
 */
export interface WorkerWiring {
  /** How checkouts reserve stock (default: in Redis). */
  reservation?: ReservationStrategy;
  /** Makes the hook told at each checkpoint (default: none). */
  checkpoint?: (context: CheckpointContext) => CheckpointHook;
  payment?: PaymentProvider;
  /** Refunds of completed orders (cancel, refund); the simulator unless a test brings its own. */
  refunds?: RefundGateway;
}

export interface WorkerDeps {
  config: WorkerConfig;
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
  reservation: ReservationStrategy;
  /** Told at each checkpoint; production has none. */
  checkpoint: CheckpointHook | undefined;
  close(): Promise<void>;
}

export function createWorkerDeps(config: WorkerConfig, logger: Logger, wiring: WorkerWiring = {}): WorkerDeps {
  const keys = keyspace(config.REDIS_PREFIX, config.INVENTORY_SHARDS);
  const db = createDb(config.DATABASE_URL, config.DB_POOL_MAX, true, { logger });
  const redis = createRedis(redisTarget(config), { forQueue: true, name: "workers" });
  const engine = new InventoryEngine(redis, keys, mysqlTruth(db), {
    requireEpoch: true,
    retentionMs: config.HOLD_RETENTION_MS,
    replicated: replicaWait(redis, config),
  });
  const metrics = createWorkerMetrics();
  const checkpoint = wiring.checkpoint?.({ redis, keys, logger });
  const writerDb = createDb(config.DATABASE_URL, config.WRITER_CONNECTIONS, true, {
    sessionIsolation: "read committed",
    logger,
  });
  const writer = new GroupCommitWriter(writerDb, {
    connections: config.WRITER_CONNECTIONS,
    maxBatch: config.WRITER_MAX_BATCH,
    kindOrder: WRITE_ORDER,
    onBatch: (size, ok) => metrics.writeBatchSize.observe({ outcome: ok ? "committed" : "failed" }, size),
    ...(checkpoint ? { beforeCommit: () => checkpoint("mid-batch") } : {}),
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
  const payment = wiring.payment ?? simulator;
  const refunds = wiring.refunds ?? simulator;
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
    reservation: wiring.reservation ?? redisReservation,
    checkpoint,
    async close() {
      await inventoryQueue.close();
      await checkoutQueue.close();
      await writerDb.destroy();
      await db.destroy();
      redis.disconnect();
    },
  };
}
