import { Counter, Gauge, type Registry } from "prom-client";
import { createRegistry } from "@oms/shared";
import type { DecisionAction } from "./decision";

/**
 * What the autoscaler exports. `oms_queue_backlog` and `oms_queue_oldest_wait_seconds`
 * are the measurements it decides on; KEDA's Prometheus trigger reads the same series
 * on Kubernetes (deploy/keda/prometheus).
 */
export interface AutoscaleMetrics {
  registry: Registry;
  backlog: Gauge<"queue">;
  oldestWait: Gauge<"queue">;
  desired: Gauge<"queue">;
  running: Gauge<"queue">;
  ready: Gauge<"queue">;
  retiring: Gauge<"queue">;
  decisions: Counter<"queue" | "action">;
  replacements: Counter<"queue">;
  forcedKills: Counter<"queue">;
  hungKills: Counter<"queue">;
  measureErrors: Counter<"queue">;
}

export function createAutoscaleMetrics(registry: Registry = createRegistry("autoscaler")): AutoscaleMetrics {
  const gauge = (name: string, help: string) => new Gauge({ name, help, labelNames: ["queue"], registers: [registry] });
  return {
    registry,
    backlog: gauge("oms_queue_backlog", "Jobs waiting, prioritized, delayed and active, per queue"),
    oldestWait: gauge("oms_queue_oldest_wait_seconds", "How long the oldest job waiting to start has waited"),
    desired: gauge("oms_autoscale_desired_workers", "Worker processes the autoscaler wants per queue"),
    running: gauge("oms_autoscale_running_workers", "Worker processes running per queue (starting or consuming)"),
    ready: gauge("oms_autoscale_ready_workers", "Worker processes consuming per queue"),
    retiring: gauge("oms_autoscale_retiring_workers", "Worker processes draining before they exit, per queue"),
    decisions: new Counter({
      name: "oms_autoscale_decisions_total",
      help: "Scaling decisions that changed the desired number of processes, by queue and direction",
      labelNames: ["queue", "action"],
      registers: [registry],
    }),
    replacements: new Counter({
      name: "oms_autoscale_worker_replacements_total",
      help: "Worker processes that exited unasked (crashed, killed) and were replaced",
      labelNames: ["queue"],
      registers: [registry],
    }),
    forcedKills: new Counter({
      name: "oms_autoscale_forced_kills_total",
      help: "Retiring processes killed because they did not exit in time (their jobs go back to wait)",
      labelNames: ["queue"],
      registers: [registry],
    }),
    hungKills: new Counter({
      name: "oms_autoscale_hung_kills_total",
      help: "Consuming processes killed and replaced because their heartbeat stopped (frozen, event loop blocked)",
      labelNames: ["queue"],
      registers: [registry],
    }),
    measureErrors: new Counter({
      name: "oms_autoscale_measure_errors_total",
      help: "Failed queue measurements (no decision is taken for the queue that time)",
      labelNames: ["queue"],
      registers: [registry],
    }),
  };
}

export function recordDecision(metrics: AutoscaleMetrics, queue: string, action: DecisionAction): void {
  if (action !== "hold") metrics.decisions.inc({ queue, action });
}

/** The process gauges from the supervisor's status (desired is 0 when it runs no processes). */
export function setProcessGauges(
  metrics: AutoscaleMetrics,
  statuses: ReadonlyArray<{ queue: string; desired: number; running: number; ready: number; retiring: number }>,
  spawnWorkers: boolean,
): void {
  for (const s of statuses) {
    metrics.desired.set({ queue: s.queue }, spawnWorkers ? s.desired : 0);
    metrics.running.set({ queue: s.queue }, s.running);
    metrics.ready.set({ queue: s.queue }, s.ready);
    metrics.retiring.set({ queue: s.queue }, s.retiring);
  }
}
