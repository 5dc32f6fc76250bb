/** Latency percentiles (HDR histograms in microseconds, 3 significant digits) and small helpers. */
import { build, type Histogram } from "hdr-histogram-js";
import type { LatencySummary } from "./types";

export type { Histogram };

export const histogram = (): Histogram => build({ numberOfSignificantValueDigits: 3 });

export function recordMs(h: Histogram, ms: number): void {
  h.recordValue(Math.max(1, Math.round(ms * 1000)));
}

/** p50, p95, p99, max and mean in ms, rounded to `digits`. */
export function summarize(h: Histogram, digits = 1): LatencySummary {
  if (h.totalCount === 0) return { p50: 0, p95: 0, p99: 0, max: 0, mean: 0 };
  const ms = (us: number) => round(us / 1000, digits);
  const at = (q: number) => ms(h.getValueAtPercentile(q));
  return { p50: at(50), p95: at(95), p99: at(99), max: at(100), mean: ms(h.mean) };
}

export function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A deterministic PRNG (mulberry32), so every design gets the same workload. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * A client id for shopper `i`: a bijective 32-bit hash in hex, so concurrent new
 * clients land all over the index as real ids do (sequential ids crowd one gap of
 * client_cart's primary key, where add-to-cart's locking deadlocks; see docs/benchmark.md).
 */
export function clientId(prefix: string, i: number): string {
  return `${prefix}${(Math.imul(i + 1, 0x9e3779b1) >>> 0).toString(16).padStart(8, "0")}`;
}
