import { Counter, Histogram, type Registry } from "prom-client";
import type { Worker } from "bullmq";
import { createRegistry } from "@oms/shared";

export interface WorkerMetrics {
  registry: Registry;
  jobs: Counter<"queue" | "outcome">;
  jobDuration: Histogram<"queue" | "outcome">;
  reservationDuration: Histogram;
  driftRepairs: Counter<"product">;
  writeBatchSize: Histogram<"outcome">;
  webhookDeliveries: Counter<"outcome">;
}

export function createWorkerMetrics(): WorkerMetrics {
  const registry = createRegistry("worker");
  return {
    registry,
    jobs: new Counter({
      name: "oms_jobs_total",
      help: "Jobs this process finished, by queue and outcome (failed counts each failed attempt)",
      labelNames: ["queue", "outcome"],
      registers: [registry],
    }),
    jobDuration: new Histogram({
      name: "oms_job_duration_seconds",
      help: "Processing time of a job attempt, by queue and outcome",
      labelNames: ["queue", "outcome"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    reservationDuration: new Histogram({
      name: "oms_reservation_duration_seconds",
      help: "Latency of the atomic reservation of a cart (one Lua call, plus a cache load on a miss)",
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1],
      registers: [registry],
    }),
    driftRepairs: new Counter({
      name: "oms_stock_drift_repairs_total",
      help: "Cached stock levels the reconciler found drifted from MySQL and repaired",
      labelNames: ["product"],
      registers: [registry],
    }),
    writeBatchSize: new Histogram({
      name: "oms_write_batch_size",
      help: "Writes per group-commit transaction (outcome: committed, or failed and retried one by one)",
      labelNames: ["outcome"],
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
      registers: [registry],
    }),
    webhookDeliveries: new Counter({
      name: "oms_webhook_deliveries_total",
      help: "Webhook delivery attempts this process made or ended, by outcome (delivered, retried, failed, cancelled)",
      labelNames: ["outcome"],
      registers: [registry],
    }),
  };
}

export function instrumentWorker(worker: Worker, queue: string, metrics: WorkerMetrics): void {
  const observe = (outcome: "completed" | "failed", processedOn?: number, finishedOn?: number) => {
    metrics.jobs.inc({ queue, outcome });
    if (processedOn && finishedOn) metrics.jobDuration.observe({ queue, outcome }, (finishedOn - processedOn) / 1000);
  };
  worker.on("completed", (job) => observe("completed", job.processedOn, job.finishedOn));
  worker.on("failed", (job) => observe("failed", job?.processedOn, job?.finishedOn ?? Date.now()));
}
