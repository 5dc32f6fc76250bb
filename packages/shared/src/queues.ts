import { Queue, type ConnectionOptions, type DefaultJobOptions } from "bullmq";
import type { Config } from "./config";
import type { Keyspace } from "./keys";
import { QUEUE_NAMES, type QueueName } from "./schemas";

/**
 * Job options per queue. Finished jobs are trimmed so Redis stays bounded; failed
 * ones are kept longer for operators to inspect and re-drive.
 */
export function jobOptions(
  config: Pick<Config, "JOB_ATTEMPTS" | "JOB_BACKOFF_MS" | "CART_REPLAY_RETENTION_MS">,
  queue: QueueName,
): DefaultJobOptions {
  const completedAge = 3_600;
  const failedAge = 7 * 86_400;
  const common: DefaultJobOptions = {
    removeOnComplete: { age: completedAge, count: 10_000 },
    removeOnFail: { age: failedAge, count: 50_000 },
    backoff: { type: "exponential", delay: config.JOB_BACKOFF_MS, jitter: 0.5 },
  };
  switch (queue) {
    case "cart": {
      // A shopper is waiting: a few quick tries, then a clear error. A finished job is
      // kept (and so can be run again from the board) only while its replay record is,
      // or running it again could add twice.
      const replayAge = Math.floor(config.CART_REPLAY_RETENTION_MS / 1000);
      return {
        ...common,
        removeOnComplete: { age: Math.min(completedAge, replayAge), count: 10_000 },
        removeOnFail: { age: Math.min(failedAge, replayAge), count: 50_000 },
        attempts: 3,
        backoff: { type: "exponential", delay: 100, jitter: 0.5 },
      };
    }
    case "checkout":
    case "inventory":
      return { ...common, attempts: config.JOB_ATTEMPTS };
  }
}

export function createQueue(
  name: QueueName,
  connection: ConnectionOptions,
  keys: Pick<Keyspace, "queuePrefix">,
  config: Pick<Config, "JOB_ATTEMPTS" | "JOB_BACKOFF_MS" | "CART_REPLAY_RETENTION_MS">,
): Queue {
  // Each queue under its own hash tag: a Cluster may put each on another node.
  return new Queue(QUEUE_NAMES[name], {
    connection,
    prefix: keys.queuePrefix(name),
    defaultJobOptions: jobOptions(config, name),
  });
}
