import type { WorkerOptions } from "bullmq";
import {
  createRedis,
  queueTelemetry,
  redisTarget,
  type WorkerConfig,
  type EventQueueName,
  type Keyspace,
  type QueueName,
} from "@oms/shared";

/**
 * BullMQ Worker options every consumer of this process shares: its own blocking
 * connection (to any of the three Redis deployments), the queue's hash-tagged prefix, the lock and stall settings, and the tracing (off
 * unless configured). A worker killed
 * mid-job stops renewing its lock; the lock lapses and the job is delivered again.
 */
export function consumerOptions(
  config: Pick<
    WorkerConfig,
    | "REDIS_URL"
    | "REDIS_SENTINELS"
    | "REDIS_SENTINEL_NAME"
    | "REDIS_CLUSTER_NODES"
    | "JOB_LOCK_MS"
    | "STALLED_CHECK_MS"
    | "MAX_STALLED"
  >,
  keys: Pick<Keyspace, "queuePrefix">,
  name: QueueName | EventQueueName,
  concurrency: number,
): WorkerOptions {
  return {
    connection: createRedis(redisTarget(config), { forQueue: true, name: `worker-${name}` }),
    // The queue's own hash tag: a Cluster may put each queue on another node.
    prefix: keys.queuePrefix(name),
    concurrency,
    lockDuration: config.JOB_LOCK_MS,
    stalledInterval: config.STALLED_CHECK_MS,
    maxStalledCount: config.MAX_STALLED,
    telemetry: queueTelemetry(),
  };
}
