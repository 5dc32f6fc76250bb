import type { LatencySummary } from "./types";

/** Percentiles by nearest rank over a copy of the values (milliseconds). */
export function summarize(values: ArrayLike<number>): LatencySummary {
  const n = values.length;
  if (n === 0) return { p50: 0, p95: 0, p99: 0, max: 0, mean: 0 };
  const sorted = Float64Array.from(values).sort();
  const at = (q: number) => sorted[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))] ?? 0;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i] ?? 0;
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: sorted[n - 1] ?? 0, mean: sum / n };
}

export function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export function median(values: number[]): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
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
