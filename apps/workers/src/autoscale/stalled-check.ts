/**
 * BullMQ's stalled-job check (a job whose lock lapsed goes back to wait) normally runs
 * inside the workers that consume the queue. When the only worker is frozen, nothing
 * runs it and its jobs stay active however long their locks have lapsed. The supervisor
 * runs the same check, from a process that holds no job and so cannot be the one stuck.
 * BullMQ keeps the checks of all processes to one per interval, so this adds no load.
 */
import { Worker } from "bullmq";
import { logFailure, QUEUE_NAMES, createRedis, type Logger, type QueueName, type RedisTarget } from "@oms/shared";

export interface StalledCheckOptions {
  /** How often to check (STALLED_CHECK_MS, as the workers). */
  intervalMs: number;
  /** Stalls after which a job fails for good (MAX_STALLED, as the workers). */
  maxStalled: number;
}

export interface StalledChecks {
  close(): Promise<void>;
}

/** Runs BullMQ's stalled-job check on each queue every interval; consumes nothing. */
export async function startStalledChecks(
  queues: QueueName[],
  options: StalledCheckOptions & {
    redisTarget: string | RedisTarget;
    queuePrefix: (queue: QueueName) => string;
    logger: Logger;
  },
): Promise<StalledChecks> {
  const { logger } = options;
  const checkers = queues.map((queue) => {
    // No processor and no run(): the manual-fetch mode, where only the stalled checker works.
    const checker = new Worker(QUEUE_NAMES[queue], null, {
      connection: createRedis(options.redisTarget, { forQueue: true, name: `stalled-check-${queue}` }),
      prefix: options.queuePrefix(queue),
      autorun: false,
      stalledInterval: options.intervalMs,
      maxStalledCount: options.maxStalled,
    });
    checker.on("stalled", (jobId) => logger.warn({ queue, jobId }, "job stalled: its lock lapsed; back to wait"));
    checker.on("failed", (job, err) =>
      logger.error({ queue, jobId: job?.id, err: err.message }, "job stalled too often: failed for good"),
    );
    checker.on("error", (err) => logger.warn({ queue, err: err.message }, "stalled check failed"));
    return checker;
  });
  await Promise.all(checkers.map((c) => c.startStalledCheckTimer()));
  return {
    async close() {
      // Shutting down: a checker whose Redis is gone has nothing left to close.
      await Promise.all(
        checkers.map((c) => c.close().catch(logFailure(logger, "stalled checker not closed", "debug"))),
      );
    },
  };
}
