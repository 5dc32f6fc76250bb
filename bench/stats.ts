/** Latency percentiles (HDR histograms in microseconds, 3 significant digits) and small helpers. */
import { readFileSync } from "node:fs";
import { build, type Histogram } from "hdr-histogram-js";
import type { PhaseResult, ProcessUsage } from "./types";

export type { Histogram };
export const histogram = (): Histogram => build({ numberOfSignificantValueDigits: 3 });

export function summarize(h: Histogram, digits = 1) {
  const ms = (us: number) => (h.totalCount === 0 ? 0 : round(us / 1000, digits));
  const at = (q: number) => ms(h.getValueAtPercentile(q));
  return { p50: at(50), p95: at(95), p99: at(99), max: at(100), mean: ms(h.mean) };
}

export const isApi = (u: ProcessUsage) => u.name === "api" || u.name.startsWith("api-");
export const isWorker = (u: ProcessUsage) => u.name.startsWith("worker-");
export type Match = (u: ProcessUsage) => boolean;
/** A phase's CPU summed over the processes that `match`: % of one core, or (`cpuSeconds`) seconds. */
export const cpuOf = (p: PhaseResult, match: Match, k: "cpuPercent" | "cpuSeconds" = "cpuPercent") =>
  p.processes.filter(match).reduce((s, u) => s + u[k], 0);

export const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;
/** A file's text, or "" when it cannot be read (a process gone, another OS). */
export const readText = (path: string) => {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
};

/**
 * A client id for shopper `i`: a bijective 32-bit hash in hex, so concurrent new
 * clients land all over the index as real ids do (sequential ids crowd one gap of
 * client_cart's primary key, where add-to-cart's locking deadlocks; see docs/benchmark.md).
 */
export const clientId = (prefix: string, i: number) =>
  `${prefix}${(Math.imul(i + 1, 0x9e3779b1) >>> 0).toString(16).padStart(8, "0")}`;
