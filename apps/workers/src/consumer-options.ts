import type { WorkerOptions } from "bullmq";
import { createRedis, queueTelemetry, type Config, type Keyspace } from "@oms/shared";

/**
 * BullMQ Worker options every consumer of this process shares: its own blocking
 * connection, the hash-tagged prefix, the lock and stall settings, and the tracing (off
 * unless configured). A worker killed
 * mid-job stops renewing its lock; the lock lapses and the job is delivered again.
 */
export function consumerOptions(
  config: Pick<Config, "REDIS_URL" | "JOB_LOCK_MS" | "STALLED_CHECK_MS" | "MAX_STALLED">,
  keys: Keyspace,
  name: string,
  concurrency: number,
): WorkerOptions {
  return {
    connection: createRedis(config.REDIS_URL, { forQueue: true, name: `worker-${name}` }),
    prefix: keys.queuePrefix,
    concurrency,
    lockDuration: config.JOB_LOCK_MS,
    stalledInterval: config.STALLED_CHECK_MS,
    maxStalledCount: config.MAX_STALLED,
    telemetry: queueTelemetry(),
  };
}
