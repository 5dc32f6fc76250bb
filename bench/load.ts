/**
 * The load generator: undici connection pools (keep-alive, one request in flight per
 * connection, as many connections as virtual clients), driven closed-loop (N virtual
 * clients, each sending its next request when the last one answered) or open-loop
 * (a fixed rate, capped in flight). Every request's status and latency is recorded.
 */
import { Pool } from "undici";
import type { Progress } from "./progress";

export interface RequestSpec {
  method: "GET" | "POST";
  path: string;
  body?: unknown;
  /** Index of the API process to send to; round-robin when absent. */
  target?: number;
}

/** Sends one request and records it; resolves to the HTTP status (0 for a network error). */
export type Send = (spec: RequestSpec) => Promise<number>;

export interface LoadSpec {
  label: string;
  targets: Pool[];
  /** Virtual clients (closed loop), or the cap on sessions in flight (open loop). */
  concurrency: number;
  /** Runs the i-th unit of work (one request, or a session of several); false when there is none. */
  task(i: number, send: Send): Promise<boolean>;
  /** Units of work, for the progress bar. */
  total?: number;
  /** Stop starting work after this long. */
  durationMs?: number;
  /** Open loop: start this many units of work per second. */
  ratePerSecond?: number;
  progress?: Progress;
}

export interface LoadOutcome {
  seconds: number;
  count: number;
  /** Per request, in completion order: latency (ms), status, completion time (ms since start). */
  latencyMs: Float64Array;
  status: Uint16Array;
  finishedAtMs: Float64Array;
  errorSamples: string[];
  /** Open loop: how far behind schedule the latest start was (ms). */
  maxStartLagMs: number;
}

/** Records requests in growable typed arrays (no per-request objects). */
class Recorder {
  count = 0;
  latency = new Float64Array(1024);
  status = new Uint16Array(1024);
  finishedAt = new Float64Array(1024);
  ok = 0;
  rejected = 0;
  errors = 0;
  readonly errorSamples: string[] = [];

  record(latencyMs: number, status: number, finishedAtMs: number): void {
    if (this.count === this.latency.length) {
      const grow = <T extends Float64Array | Uint16Array>(a: T, make: (n: number) => T): T => {
        const b = make(a.length * 2);
        b.set(a);
        return b;
      };
      this.latency = grow(this.latency, (n) => new Float64Array(n));
      this.status = grow(this.status, (n) => new Uint16Array(n));
      this.finishedAt = grow(this.finishedAt, (n) => new Float64Array(n));
    }
    this.latency[this.count] = latencyMs;
    this.status[this.count] = status;
    this.finishedAt[this.count] = finishedAtMs;
    this.count++;
    if (status === 200) this.ok++;
    else if (status === 409) this.rejected++;
    else if (status !== 202) this.errors++;
  }

  sample(message: string): void {
    if (this.errorSamples.length < 5) this.errorSamples.push(message.slice(0, 300));
  }
}

/** One pool per API origin, each with `connections` keep-alive connections. */
export function createPools(origins: string[], connections: number): Pool[] {
  return origins.map(
    (origin) =>
      new Pool(origin, {
        connections,
        pipelining: 1,
        keepAliveTimeout: 60_000,
        keepAliveMaxTimeout: 600_000,
        headersTimeout: 60_000,
        bodyTimeout: 60_000,
      }),
  );
}

export async function closePools(pools: Pool[]): Promise<void> {
  await Promise.all(pools.map((p) => p.close().catch(() => undefined)));
}

const JSON_HEADERS = { "content-type": "application/json" };

export async function runLoad(spec: LoadSpec): Promise<LoadOutcome> {
  const rec = new Recorder();
  const start = performance.now();
  let roundRobin = 0;

  const send: Send = async (req) => {
    const index = req.target ?? roundRobin++ % spec.targets.length;
    const pool = spec.targets[index];
    if (!pool) throw new Error(`no API process #${index}`);
    const t0 = performance.now();
    let status = 0;
    try {
      const res = await pool.request({
        method: req.method,
        path: req.path,
        headers: req.body === undefined ? undefined : JSON_HEADERS,
        body: req.body === undefined ? undefined : JSON.stringify(req.body),
      });
      status = res.statusCode;
      if (status !== 200 && status !== 202 && status !== 409) {
        rec.sample(`${req.method} ${req.path} -> ${status}: ${await res.body.text()}`);
      } else {
        await res.body.dump();
      }
    } catch (err) {
      status = 0;
      rec.sample(`${req.method} ${req.path} -> ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
    }
    const t1 = performance.now();
    rec.record(t1 - t0, status, t1 - start);
    return status;
  };

  spec.progress?.start(spec.label, { total: spec.total, durationMs: spec.durationMs });
  const progressTimer = setInterval(
    () => spec.progress?.update({ done: rec.count, ok: rec.ok, rejected: rec.rejected, errors: rec.errors }),
    100,
  );
  progressTimer.unref();
  const deadline = spec.durationMs === undefined ? Number.POSITIVE_INFINITY : start + spec.durationMs;
  let next = 0;
  let maxStartLagMs = 0;

  try {
    if (spec.ratePerSecond === undefined) {
      let exhausted = false;
      const client = async () => {
        while (!exhausted && performance.now() < deadline) {
          if (!(await spec.task(next++, send))) exhausted = true;
        }
      };
      await Promise.all(Array.from({ length: spec.concurrency }, client));
    } else {
      const interval = 1000 / spec.ratePerSecond;
      const inFlight = new Set<Promise<void>>();
      let exhausted = false;
      while (!exhausted) {
        const now = performance.now();
        if (now >= deadline) break;
        const due = start + next * interval;
        if (due <= now) {
          if (inFlight.size >= spec.concurrency) {
            await Promise.race(inFlight);
            continue;
          }
          maxStartLagMs = Math.max(maxStartLagMs, now - due);
          const i = next++;
          const p: Promise<void> = spec
            .task(i, send)
            .then((more) => {
              if (!more) exhausted = true;
            })
            .finally(() => inFlight.delete(p));
          inFlight.add(p);
        } else {
          await new Promise((r) => setTimeout(r, Math.min(due - now, 50)));
        }
      }
      await Promise.all(inFlight);
    }
  } finally {
    clearInterval(progressTimer);
  }
  const seconds = (performance.now() - start) / 1000;
  return {
    seconds,
    count: rec.count,
    latencyMs: rec.latency.subarray(0, rec.count),
    status: rec.status.subarray(0, rec.count),
    finishedAtMs: rec.finishedAt.subarray(0, rec.count),
    errorSamples: rec.errorSamples,
    maxStartLagMs,
  };
}

/** A closed-loop task over a fixed list of requests. */
export function listTask(requests: RequestSpec[]): LoadSpec["task"] {
  return async (i, send) => {
    const req = requests[i];
    if (!req) return false;
    await send(req);
    return true;
  };
}
