import { z } from "zod";
import { Gauge, Histogram, type Registry } from "prom-client";
import type { Queue } from "bullmq";
import {
  CHECKOUT_OUTCOMES,
  WEBHOOK_OUTCOMES,
  createRegistry,
  dbNumber,
  rawRows,
  type Keyspace,
  type Knex,
  type RedisClient,
} from "@oms/shared";

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
export function createApiMetrics(
  redis: RedisClient,
  keys: Keyspace,
  queues: Record<string, Queue>,
  db: Knex,
): ApiMetrics {
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
  new Gauge({
    name: "oms_webhook_delivery_outcomes",
    help: "Webhook delivery attempts since Redis started, by outcome (delivered, retried, failed: given up, cancelled), counted by every worker in Redis",
    labelNames: ["outcome"],
    registers: [registry],
    async collect() {
      const counts = await redis.hgetall(keys.webhookOutcomes);
      for (const outcome of WEBHOOK_OUTCOMES) this.set({ outcome }, Number(counts[outcome] ?? 0));
    },
  });
  const pendingEvents = new Gauge({
    name: "oms_outbox_pending_events",
    help: "Events in the outbox not yet relayed to the events queue (set with oms_outbox_lag_seconds)",
    registers: [],
  });
  // One query for both figures. A MySQL that does not answer leaves them as they were:
  // failing the scrape would hide every other metric while MySQL is away.
  new Gauge({
    name: "oms_outbox_lag_seconds",
    help: "Age of the oldest event not yet relayed from the outbox to the events queue (0 when none waits)",
    registers: [registry],
    async collect() {
      const figures = await outboxFigures(db).catch(() => null);
      if (!figures) return;
      this.set(figures.lag);
      pendingEvents.set(figures.pending);
    },
  });
  registry.registerMetric(pendingEvents);
  return { registry, httpDuration };
}

const OutboxFigures = z.object({ pending: dbNumber, lag: dbNumber });

async function outboxFigures(db: Knex): Promise<{ pending: number; lag: number }> {
  const rows = rawRows(
    OutboxFigures,
    await db.raw(
      "SELECT COUNT(*) AS pending, COALESCE(TIMESTAMPDIFF(MICROSECOND, MIN(created_at), NOW(3)), 0) / 1e6 AS lag FROM events WHERE relayed_at IS NULL",
    ),
  );
  return { pending: Number(rows[0]?.pending ?? 0), lag: Math.max(0, Number(rows[0]?.lag ?? 0)) };
}
