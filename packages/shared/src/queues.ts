import { Queue, type ConnectionOptions, type DefaultJobOptions } from "bullmq";
import type { BaseConfig } from "./config/base";
import type { Keyspace } from "./keys";
import { EVENT_QUEUE_NAMES, QUEUE_NAMES, type EventQueueName, type QueueName } from "./schemas";
import { queueTelemetry } from "./tracing";

/**
 * Job options per queue. Finished jobs are trimmed so Redis stays bounded; failed
 * ones are kept longer for operators to inspect and re-drive.
 */
export function jobOptions(
  config: Pick<BaseConfig, "JOB_ATTEMPTS" | "JOB_BACKOFF_MS" | "CART_REPLAY_RETENTION_MS">,
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
  config: Pick<BaseConfig, "JOB_ATTEMPTS" | "JOB_BACKOFF_MS" | "CART_REPLAY_RETENTION_MS">,
): Queue {
  // Each queue under its own hash tag: a Cluster may put each on another node.
  return new Queue(QUEUE_NAMES[name], {
    connection,
    prefix: keys.queuePrefix(name),
    defaultJobOptions: jobOptions(config, name),
    telemetry: queueTelemetry(),
  });
}

/**
 * The event pipeline's queues (EVENT_QUEUE_NAMES), outside QueueName: they are consumed
 * beside `inventory`, not by worker processes of their own. `events` holds one job per
 * outbox row (its event id as the job id), `webhooks` one job per event and endpoint.
 * Each has its own hash tag, like the others.
 */
export function createEventQueue(
  name: EventQueueName,
  connection: ConnectionOptions,
  keys: Pick<Keyspace, "queuePrefix">,
): Queue {
  return new Queue(EVENT_QUEUE_NAMES[name], {
    connection,
    prefix: keys.queuePrefix(name),
    defaultJobOptions: {
      removeOnComplete: { age: 3_600, count: 10_000 },
      removeOnFail: { age: 7 * 86_400, count: 50_000 },
      // A delivery's own retries are scheduled by its processor (WEBHOOK_BACKOFF_MS and up, for
      // WEBHOOK_RETRY_FOR_MS) without spending these: they cover unexpected errors only.
      attempts: 10,
      backoff: { type: "exponential", delay: 1_000, jitter: 0.5 },
    },
    telemetry: queueTelemetry(),
  });
}
