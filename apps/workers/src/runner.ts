import { randomUUID } from "node:crypto";
import { UnrecoverableError, Worker, type Processor } from "bullmq";
import {
  errorCode,
  logFailure,
  QUEUE_NAMES,
  createQueue,
  describeTarget,
  redisTarget,
  type QueueName,
} from "@oms/shared";
import type { WorkerDeps } from "./deps";
import { cartProcessor, checkoutProcessor, inventoryProcessor } from "./processors";
import { sagaDeps } from "./checkout/saga-deps";
import { recoverIfRedisLostData } from "./inventory/recovery";
import { pushReply, replying } from "./push-reply";
import { failureCode } from "./outage";
import { instrumentWorker } from "./observability/metrics";
import { ProgressMonitor } from "./observability/progress";
import { serveMetrics, type MetricsServer } from "./observability/metrics-server";
import { startEventPipeline } from "./events/pipeline";
import { consumerOptions } from "./consumer-options";

const HEARTBEAT_MS = 5_000;
/** Records are kept for an hour by default: a minute's lag in pruning them is nothing. */
const PRUNE_INTERVAL_MS = 60_000;

export interface RunningWorkers {
  workers: Worker[];
  progress: ProgressMonitor;
  /** The port its metrics are served on (none: undefined). */
  metricsPort: number | undefined;
  /** Stops taking jobs and waits for active ones (bounded by the grace time). */
  close(): Promise<void>;
}

/** Starts a BullMQ worker for each queue this process consumes, with metrics, progress checks and a heartbeat. */
export async function startWorkers(
  deps: WorkerDeps,
  queues: QueueName[] = deps.config.WORKER_QUEUES,
): Promise<RunningWorkers> {
  const { config, keys, logger } = deps;
  const processors: Record<QueueName, { processor: Processor; concurrency: number }> = {
    cart: { processor: replying(deps, "cart", cartProcessor(deps)), concurrency: config.WORKER_CONCURRENCY_CART },
    checkout: {
      processor: replying(deps, "checkout", checkoutProcessor(deps)),
      concurrency: config.WORKER_CONCURRENCY_CHECKOUT,
    },
    inventory: { processor: inventoryProcessor(deps), concurrency: 2 },
  };
  const saga = sagaDeps(deps);
  // Schedules live in Redis: set them at start, and again after Redis lost its data.
  const ensureSchedules = async () => {
    if (!queues.includes("inventory")) return;
    const q = deps.inventoryQueue;
    // Replay records older than any re-delivery of their job (CART_REPLAY_RETENTION_MS).
    await q.upsertJobScheduler("prune", { every: PRUNE_INTERVAL_MS }, { name: "prune", data: { type: "prune" } });
    // The MySQL-only reservations (benchmark baselines) keep no cache and no pending decrements.
    if (!deps.reservation.cachesStockInRedis) return;
    await q.upsertJobScheduler(
      "sweep-holds",
      { every: config.HOLD_SWEEP_INTERVAL_MS },
      { name: "sweepHolds", data: { type: "sweepHolds" } },
    );
    await q.upsertJobScheduler(
      "flush",
      { every: config.FLUSH_INTERVAL_MS },
      { name: "flush", data: { type: "flush" } },
    );
    await q.upsertJobScheduler(
      "reconcile",
      { every: config.RECONCILE_INTERVAL_MS },
      { name: "reconcile", data: { type: "reconcile" } },
    );
  };
  // On a Cluster the inventory queue's node can lose its data (and the schedules with it)
  // while the stock shards keep theirs, so the schedules are looked for on their own.
  const schedulesLost = async () =>
    queues.includes("inventory") && !(await deps.inventoryQueue.getJobScheduler("prune"));
  // Recover before consuming: a process that cannot reach MySQL fails here, having taken no job.
  await recoverIfRedisLostData(deps, saga);
  await ensureSchedules();

  const watched = queues.map((queueName) => {
    const { processor, concurrency } = processors[queueName];
    const worker = new Worker(QUEUE_NAMES[queueName], processor, consumerOptions(config, keys, queueName, concurrency));
    worker.on("failed", (job, err) =>
      logger.warn(
        {
          queue: queueName,
          jobId: job?.id,
          requestId: job?.data?.requestId,
          attempt: job?.attemptsMade,
          err: err.message,
        },
        "job failed",
      ),
    );
    if (queueName === "cart" || queueName === "checkout") {
      worker.on("failed", (job, err) => {
        // Failed for good: the waiting API process answers now instead of at its deadline.
        const final = err instanceof UnrecoverableError || (job?.attemptsMade ?? 0) >= (job?.opts.attempts ?? 1);
        if (!job || !final) return;
        const reply = {
          queue: queueName,
          jobId: String(job.id),
          ok: false,
          reason: err.message,
          code: failureCode(err),
        };
        void pushReply(deps, job, reply).catch((replyErr: unknown) =>
          // The API's own deadline answers it instead; say why it had to.
          logger.warn({ queue: queueName, jobId: job.id, err: String(replyErr) }, "failure reply not delivered"),
        );
      });
    }
    worker.on("error", (err) => logger.error({ queue: queueName, err: err.message }, "worker error"));
    instrumentWorker(worker, queueName, deps.metrics);
    const queue = createQueue(queueName, deps.redis, keys, config);
    queue.on("error", (err) => logger.warn({ queue: queueName, err: err.message }, "queue connection error"));
    return { queueName, worker, queue, concurrency };
  });
  await Promise.all(watched.map((w) => w.worker.waitUntilReady()));
  // The outbox relay and webhook deliveries run beside the inventory queue's housekeeping.
  const events = queues.includes("inventory") ? await startEventPipeline(deps) : undefined;

  const progress = new ProgressMonitor(watched, config.WORKER_STALL_ALERT_MS);
  const workerId = `${process.pid}-${randomUUID().slice(0, 8)}`;
  // The heartbeat says "this process consumes"; the API's readiness looks for a fresh one.
  const beat = async () => {
    if ((await recoverIfRedisLostData(deps, saga)) || (await schedulesLost())) await ensureSchedules();
    const report = await progress.check();
    if (report.ready) {
      await deps.redis.zadd(keys.workerHeartbeats, Date.now(), workerId);
    } else {
      logger.error({ problems: report.problems }, "worker not making progress");
    }
    await deps.redis.zremrangebyscore(keys.workerHeartbeats, "-inf", Date.now() - 60_000);
  };
  // A missed beat shows as a stale heartbeat in the API's readiness; the log says why.
  const beatOrLog = () =>
    beat().catch((err: unknown) => logger.warn({ workerId, err: String(err) }, "worker heartbeat failed"));
  await beatOrLog();
  const heartbeat = setInterval(() => void beatOrLog(), HEARTBEAT_MS);
  heartbeat.unref();

  const server = config.METRICS_PORT > 0 ? await serveWorkerMetrics(deps, progress) : undefined;
  logger.info(
    {
      queues,
      workerId,
      metricsPort: server?.port,
      redis: describeTarget(redisTarget(config)),
      inventoryShards: config.INVENTORY_SHARDS,
      reservation: deps.reservation.name,
    },
    "workers started",
  );

  return {
    workers: watched.map((w) => w.worker),
    progress,
    metricsPort: server?.port,
    async close() {
      clearInterval(heartbeat);
      // Unremoved, the entry ages out of the heartbeat set within a minute.
      await deps.redis
        .zrem(keys.workerHeartbeats, workerId)
        .catch(logFailure(logger, "heartbeat entry not removed", "debug"));
      const drained = Promise.all([...watched.map((w) => w.worker.close()), events?.close()]).then(() => true);
      const timeout = new Promise<false>((r) => setTimeout(() => r(false), config.SHUTDOWN_GRACE_MS).unref());
      // Past the grace time, stop waiting: the process exits, the active jobs' locks lapse and
      // another worker takes them. (A second worker.close(true) would only return the first
      // close's promise, which waits for the active jobs however long they take.)
      if (!(await Promise.race([drained, timeout]))) {
        logger.warn({ graceMs: config.SHUTDOWN_GRACE_MS }, "grace time over: handing active jobs back");
      }
      // Shutting down: a queue whose Redis is gone has nothing left to close.
      await Promise.all(watched.map((w) => w.queue.close().catch(logFailure(logger, "queue not closed", "debug"))));
      await server?.close();
    },
  };
}

/**
 * Serves on METRICS_PORT, or, when something else holds that port (on a busy host often
 * an outgoing connection's local port), on a free one: metrics must never cost a worker
 * its work. The port is reported in the ready message, and the autoscaler lists that one.
 */
async function serveWorkerMetrics(deps: WorkerDeps, progress: ProgressMonitor): Promise<MetricsServer> {
  const { config, logger } = deps;
  const options = { registry: deps.metrics.registry, host: config.HOST, readiness: () => progress.check() };
  try {
    return await serveMetrics({ ...options, port: config.METRICS_PORT });
  } catch (err) {
    if (errorCode(err) !== "EADDRINUSE") throw err;
    const server = await serveMetrics({ ...options, port: 0 });
    logger.error(
      { plannedPort: config.METRICS_PORT, port: server.port },
      "metrics port in use by another process: serving metrics on a free port instead",
    );
    return server;
  }
}
