import { Gauge, Histogram, type Registry } from "prom-client";
import type { Queue } from "bullmq";
import { CHECKOUT_OUTCOMES, createRegistry, type Keyspace, type RedisClient } from "@oms/shared";

const JOB_STATES = ["waiting", "prioritized", "active", "delayed", "completed", "failed"] as const;

export interface ApiMetrics {
  registry: Registry;
  httpDuration: Histogram<"method" | "route" | "status">;
}

/**
 * The API's registry: its own HTTP timings and process metrics, plus system-wide
 * figures read from Redis at scrape time (queue depths, live holds, checkout
 * outcomes counted by every worker, live workers).
 */
export function createApiMetrics(redis: RedisClient, keys: Keyspace, queues: Record<string, Queue>): ApiMetrics {
  const registry = createRegistry("api");
  const httpDuration = new Histogram({
    name: "oms_http_request_duration_seconds",
    help: "HTTP request duration by route and status",
    labelNames: ["method", "route", "status"],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  new Gauge({
    name: "oms_queue_jobs",
    help: "Jobs per queue and state",
    labelNames: ["queue", "state"],
    registers: [registry],
    async collect() {
      for (const [name, queue] of Object.entries(queues)) {
        const counts = await queue.getJobCounts(...JOB_STATES);
        for (const state of JOB_STATES) this.set({ queue: name, state }, counts[state] ?? 0);
      }
    },
  });
  new Gauge({
    name: "oms_active_holds",
    help: "Stock holds not yet committed or released (held or committing)",
    registers: [registry],
    async collect() {
      const perShard = await Promise.all(keys.shards.map((shard) => redis.zcard(keys.holdExpiries(shard))));
      this.set(perShard.reduce((a, b) => a + b, 0));
    },
  });
  new Gauge({
    name: "oms_checkout_outcomes",
    help: "Checkouts ended since Redis started, by outcome, each once whichever path ended it (a counter kept in Redis)",
    labelNames: ["outcome"],
    registers: [registry],
    async collect() {
      const counts = await redis.hgetall(keys.checkoutOutcomes);
      for (const outcome of CHECKOUT_OUTCOMES) this.set({ outcome }, Number(counts[outcome] ?? 0));
    },
  });
  new Gauge({
    name: "oms_live_workers",
    help: "Worker processes whose heartbeat is fresh (they are consuming)",
    registers: [registry],
    async collect() {
      this.set(await redis.zcount(keys.workerHeartbeats, Date.now() - 15_000, "+inf"));
    },
  });
  return { registry, httpDuration };
}
