import type { IncomingMessage } from "node:http";
import type { QueueStatus } from "./supervisor-types";

/** One group of Prometheus's HTTP service discovery format (`http_sd_configs`). */
export interface TargetGroup {
  targets: string[];
  labels: Record<string, string>;
}

/**
 * The worker processes' metrics endpoints, one group per queue. Their host is the one
 * Prometheus reached the autoscaler by: the workers listen on the same HOST.
 */
export function prometheusTargets(statuses: QueueStatus[], req: IncomingMessage, listenHost: string): TargetGroup[] {
  const host = listenHost === "0.0.0.0" ? hostOf(req) : listenHost;
  return statuses.map((s) => ({
    targets: s.metricsPorts.map((port) => `${host}:${port}`),
    labels: { queue: s.queue },
  }));
}

function hostOf(req: IncomingMessage): string {
  const header = req.headers.host ?? "localhost";
  // "[::1]:5004" or "name:5004": everything before the last colon that ends the port.
  return header.replace(/:\d+$/, "");
}
