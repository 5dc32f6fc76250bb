import { Worker, type Processor } from "bullmq";
import { QUEUE_NAMES, createRedis, type QueueName } from "@oms/shared";
import type { WorkerDeps } from "./deps";
import { cartProcessor, checkoutProcessor, inventoryProcessor } from "./processors";

export interface RunningWorkers {
  workers: Worker[];
  /** Stops taking jobs and waits for active ones (bounded by the grace time). */
  close(): Promise<void>;
}

/** Starts a BullMQ worker for each queue this process consumes. */
export async function startWorkers(
  deps: WorkerDeps,
  queues: QueueName[] = deps.config.WORKER_QUEUES,
): Promise<RunningWorkers> {
  const { config, keys, logger } = deps;
  const processors: Record<QueueName, { processor: Processor; concurrency: number }> = {
    cart: { processor: cartProcessor(deps), concurrency: config.WORKER_CONCURRENCY_CART },
    checkout: { processor: checkoutProcessor(deps), concurrency: config.WORKER_CONCURRENCY_CHECKOUT },
    inventory: { processor: inventoryProcessor(deps), concurrency: 2 },
  };
  const workers = queues.map((queue) => {
    const { processor, concurrency } = processors[queue];
    const worker = new Worker(QUEUE_NAMES[queue], processor, {
      connection: createRedis(config.REDIS_URL, { forQueue: true, name: `worker-${queue}` }),
      prefix: keys.queuePrefix,
      concurrency,
      // A worker killed mid-job: its lock lapses and the job is delivered again.
      lockDuration: 30_000,
      stalledInterval: 15_000,
      maxStalledCount: 5,
    });
    worker.on("failed", (job, err) =>
      logger.warn({ queue, jobId: job?.id, attempt: job?.attemptsMade, err: err.message }, "job failed"),
    );
    worker.on("error", (err) => logger.error({ queue, err: err.message }, "worker error"));
    return worker;
  });
  await Promise.all(workers.map((w) => w.waitUntilReady()));

  if (queues.includes("inventory")) {
    await deps.inventoryQueue.upsertJobScheduler(
      "sweep-holds",
      { every: config.HOLD_SWEEP_INTERVAL_MS },
      { name: "sweepHolds", data: { type: "sweepHolds" } },
    );
    await deps.inventoryQueue.upsertJobScheduler(
      "flush",
      { every: config.FLUSH_INTERVAL_MS },
      { name: "flush", data: { type: "flush" } },
    );
  }
  logger.info({ queues }, "workers started");

  return {
    workers,
    async close() {
      const timeout = new Promise<void>((r) => setTimeout(r, config.SHUTDOWN_GRACE_MS).unref());
      await Promise.race([Promise.all(workers.map((w) => w.close())), timeout]);
      await Promise.all(workers.map((w) => w.close(true).catch(() => undefined)));
    },
  };
}
