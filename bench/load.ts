/**
 * The load generator over undici pools, closed-loop (N virtual clients, each sending its next
 * request when the last one answered) or open-loop (a fixed rate, capped in flight): statuses
 * counted, latency in an HDR histogram; and the progress bar on stderr (a terminal only).
 */
import type { Pool } from "undici";
import { MultiBar, Presets, type SingleBar } from "cli-progress";
import { histogram } from "./stats";

export type RequestSpec = { method: "GET" | "POST"; path: string; body?: unknown };
/** Sends one request and records it; resolves to the HTTP status (0 for a network error). */
export type Send = (spec: RequestSpec) => Promise<number>;
/** Runs and records any operation that resolves to a status (200 done, anything else a failure). */
export type Time = (op: () => Promise<number>) => Promise<number>;

/**
 * `concurrency`: virtual clients (closed loop), or the cap on sessions in flight (open loop,
 * `ratePerSecond` units of work started per second). `task` runs the i-th unit of work (one
 * request, or a session of several), false when there is none. `total`: units, for the
 * progress bar; `durationMs`: stop starting work after this long; `stock`: the sale window
 * ends with the answer that sold the last unit (the stock-th 200).
 */
export type LoadSpec = { label: string; targets: Pool[]; concurrency: number } & {
  task(i: number, send: Send, time: Time): Promise<boolean>;
} & Partial<Record<"total" | "durationMs" | "ratePerSecond" | "stock", number> & { progress: Progress }>;

const JSON_HEADERS = { "content-type": "application/json" };

export async function runLoad(spec: LoadSpec) {
  const [statuses, errorSamples]: [Record<string, number>, string[]] = [{}, []];
  // `sale`, with `stock`: from the start to the stock-th 200 (or the last 200).
  const sale = spec.stock === undefined ? undefined : { sold: 0, seconds: 0 };
  const out = { seconds: 0, count: 0, statuses, latency: histogram(), errorSamples, sale };
  const sample = (message: string) => void (errorSamples.length < 5 && errorSamples.push(message.slice(0, 300)));
  const start = performance.now();
  let roundRobin = 0;

  const time: Time = async (op) => {
    const [t0, status] = [performance.now(), await op()];
    const t1 = performance.now();
    out.count++;
    const key = status === 0 ? "network-error" : String(status);
    out.statuses[key] = (out.statuses[key] ?? 0) + 1;
    out.latency.recordValue(Math.max(1, Math.round((t1 - t0) * 1000)));
    if (status === 200 && sale && sale.sold < (spec.stock ?? 0))
      [sale.sold, sale.seconds] = [sale.sold + 1, (t1 - start) / 1000];
    return status;
  };
  const send: Send = (req) =>
    time(async () => {
      const pool = spec.targets[roundRobin++ % spec.targets.length];
      const what = `${req.method} ${req.path}`;
      try {
        if (!pool) throw new Error("no API process to send to");
        const body = req.body === undefined ? {} : { headers: JSON_HEADERS, body: JSON.stringify(req.body) };
        const res = await pool.request({ method: req.method, path: req.path, ...body });
        if ([200, 202, 409].includes(res.statusCode)) await res.body.dump();
        else sample(`${what} -> ${res.statusCode}: ${await res.body.text()}`);
        return res.statusCode;
      } catch (err) {
        sample(`${what} -> ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
        return 0;
      }
    });

  spec.progress?.start(spec.label, spec.total ?? spec.durationMs ?? 1, spec.total === undefined);
  const progressTimer = setInterval(() => spec.progress?.update(out.statuses), 100).unref();
  const deadline = spec.durationMs === undefined ? Number.POSITIVE_INFINITY : start + spec.durationMs;
  let [next, exhausted] = [0, false];
  try {
    if (spec.ratePerSecond === undefined) {
      const client = async () => {
        while (!exhausted && performance.now() < deadline) if (!(await spec.task(next++, send, time))) exhausted = true;
      };
      await Promise.all(Array.from({ length: spec.concurrency }, client));
    } else {
      const interval = 1000 / spec.ratePerSecond;
      const inFlight = new Set<Promise<void>>();
      while (!exhausted && performance.now() < deadline) {
        const wait = start + next * interval - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, Math.min(wait, 50)));
        else if (inFlight.size >= spec.concurrency) await Promise.race(inFlight);
        else {
          const p: Promise<void> = spec
            .task(next++, send, time)
            .then((more) => void (exhausted ||= !more))
            .finally(() => inFlight.delete(p));
          inFlight.add(p);
        }
      }
      await Promise.all(inFlight);
    }
  } finally {
    clearInterval(progressTimer);
  }
  out.seconds = (performance.now() - start) / 1000;
  return out;
}
export type LoadOutcome = Awaited<ReturnType<typeof runLoad>>;

/** A closed-loop task over a fixed list of requests, and its total for the progress bar. */
export const listTask = (requests: RequestSpec[]): Pick<LoadSpec, "task" | "total"> => ({
  total: requests.length,
  task: async (i, send) => {
    const req = requests[i];
    if (req) await send(req);
    return req !== undefined;
  },
});

const FORMAT = "  {label} {bar} {value}/{total}  {rate} req/s  ok {ok} rej {rejected} err {errors}  {duration}s";

export class Progress {
  private bars: MultiBar | null = null;
  private bar: SingleBar | null = null;
  private label = "";
  /** A timed phase's bar runs over milliseconds, not requests. */
  private timed = false;
  private startedAt = 0;

  /** `live`: a bar (on a terminal); `lines`: each phase prints one line when it ends; `off`: nothing. */
  constructor(private readonly mode: "live" | "lines" | "off") {}

  log(line: string): void {
    if (this.mode === "off") return;
    if (this.bars) this.bars.log(`${line}\n`);
    else process.stderr.write(`${line}\n`);
  }

  /** A bar over `total` requests, or (`timed`) milliseconds. */
  start(label: string, total: number, timed: boolean): void {
    [this.label, this.timed, this.startedAt] = [label, timed, performance.now()];
    if (this.mode !== "live" || !process.stderr.isTTY) return;
    this.bars ??= new MultiBar({ format: FORMAT, barsize: 24, fps: 5, clearOnComplete: true }, Presets.shades_classic);
    this.bar = this.bars.create(total, 0, { label, rate: 0, ok: 0, rejected: 0, errors: 0 });
  }

  update(statuses: Record<string, number>): void {
    const done = Object.values(statuses).reduce((s, n) => s + n, 0);
    const elapsed = performance.now() - this.startedAt;
    const [ok, rejected] = [statuses["200"] ?? 0, statuses["409"] ?? 0];
    const errors = done - ok - rejected - (statuses["202"] ?? 0);
    const rate = elapsed > 0 ? Math.round((1000 * done) / elapsed) : 0;
    this.bar?.update(this.timed ? Math.round(elapsed) : done, { label: this.label, rate, ok, rejected, errors });
  }

  /** Ends the bar with a summary line (under `label` when given, else the last phase's). */
  finish(summary: string, label = this.label): void {
    this.bars?.stop();
    [this.bars, this.bar] = [null, null];
    this.log(`  ${label}: ${summary}`);
  }
}
