import { readFileSync } from "node:fs";
/** One measured phase: the load, and around it the CPU, memory and server counters. */
import type { Redis } from "ioredis";
import type { Knex } from "@oms/shared";
import { runLoad, type LoadOutcome, type LoadSpec } from "./load";
import { LockWaitSampler, type LockWaitPair } from "./locks";
import type { ProcSampler } from "./proc";
import { round, summarize } from "./stats";
import type { PhaseResult } from "./types";
import { mysqlStatus, redisUsedMemory, statusDelta } from "./world";

export interface PhaseContext {
  sampler: ProcSampler;
  redis: Redis;
  db: Knex;
  /** When set, lock waits in this database are sampled during each phase. */
  lockDatabase?: string;
  /** When set, each round's time span (monotonic clock, microseconds) is recorded here under its label. */
  windows?: TimeWindow[];
}

export interface TimeWindow {
  name: string;
  fromUs: number;
  toUs: number;
}

/** The machine's 1-minute load average (the box is shared: this shows how busy it was). */
function loadAverage1(): number {
  try {
    return Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]);
  } catch {
    return Number.NaN;
  }
}

const nowUs = () => Number(process.hrtime.bigint() / 1000n);

export interface PhaseOptions {
  /** Limited stock: the sale window ends at this many 200 answers (or the last one). */
  stock?: number;
}

export async function measurePhase(
  ctx: PhaseContext,
  spec: LoadSpec,
  options: PhaseOptions = {},
): Promise<{ result: PhaseResult; outcome: LoadOutcome }> {
  return measureRounds(ctx, [spec], options);
}

/**
 * Runs the specs one after the other (rounds of one measurement) and reports them as
 * one phase.
 */
export async function measureRounds(
  ctx: PhaseContext,
  specs: LoadSpec[],
  options: PhaseOptions = {},
): Promise<{ result: PhaseResult; outcome: LoadOutcome }> {
  const [measured] = await measureAlternating(ctx, [specs], options);
  if (!measured) throw new Error("measureRounds needs at least one spec");
  return measured;
}

/**
 * Alternates rounds of several measurements (round 1 of each, then round 2 of each...),
 * so that they see the same noise of a shared machine; one phase result per group.
 */
export async function measureAlternating(
  ctx: PhaseContext,
  groups: LoadSpec[][],
  options: PhaseOptions = {},
): Promise<Array<{ result: PhaseResult; outcome: LoadOutcome }>> {
  const memBefore = await redisUsedMemory(ctx.redis);
  const mysqlBefore = await mysqlStatus(ctx.db);
  const loadAverages = [loadAverage1()];
  const startedAtMs = Date.now();
  let memPeak = memBefore;
  const memTimer = setInterval(() => {
    redisUsedMemory(ctx.redis).then(
      (m) => (memPeak = Math.max(memPeak, m)),
      () => undefined,
    );
  }, 500);
  memTimer.unref();
  const runs = groups.map(() => [] as Array<{ outcome: LoadOutcome; usage: ReturnType<ProcSampler["end"]> }>);
  const lockSamplers = groups.map(() => (ctx.lockDatabase ? new LockWaitSampler(ctx.db, ctx.lockDatabase) : null));
  const rounds = Math.max(...groups.map((g) => g.length));
  const lockWaits: LockWaitPair[][] = groups.map(() => []);
  try {
    for (let r = 0; r < rounds; r++) {
      for (const [g, group] of groups.entries()) {
        const spec = group[r];
        if (!spec) continue;
        ctx.sampler.begin();
        const fromUs = nowUs();
        const locks = lockSamplers[g];
        locks?.start();
        const outcome = await runLoad(spec);
        if (locks) lockWaits[g] = mergeLockWaits(lockWaits[g] ?? [], locks.stop());
        ctx.windows?.push({ name: spec.label, fromUs, toUs: nowUs() });
        runs[g]?.push({ outcome, usage: ctx.sampler.end() });
        if (rounds > 1)
          spec.progress?.finish(
            `round ${r + 1}/${rounds}: ${outcome.count} req in ${outcome.seconds.toFixed(2)}s = ${Math.round(outcome.count / outcome.seconds)} req/s`,
          );
      }
    }
  } finally {
    clearInterval(memTimer);
  }
  const memAfter = await redisUsedMemory(ctx.redis);
  const mysqlAfter = await mysqlStatus(ctx.db);
  loadAverages.push(loadAverage1());
  return groups.flatMap((group, g) => {
    const first = group[0];
    const list = runs[g] ?? [];
    if (!first || list.length === 0) return [];
    const outcome = combine(list.map((x) => x.outcome));
    const usages = list.map((x) => x.usage);
    const result = phaseResult(first, outcome, options);
    result.startedAtMs = startedAtMs;
    const wall = usages.reduce((s, u) => s + u.seconds, 0);
    result.clientCpuPercent = round(usages.reduce((s, u) => s + (u.clientCpuPercent * u.seconds) / wall, 0));
    result.processes = (usages[0]?.processes ?? []).map((p) => {
      const all = usages.map((u) => u.processes.find((q) => q.pid === p.pid) ?? p);
      const cpu = all.reduce((s, q) => s + q.cpuSeconds, 0);
      return {
        name: p.name,
        pid: p.pid,
        cpuSeconds: round(cpu, 2),
        cpuPercent: round(wall > 0 ? (100 * cpu) / wall : 0),
        rssPeakKb: Math.max(...all.map((q) => q.rssPeakKb)),
        hwmKb: Math.max(...all.map((q) => q.hwmKb)),
      };
    });
    result.redisUsedMemory = { before: memBefore, after: memAfter, peak: Math.max(memPeak, memAfter) };
    result.mysql = statusDelta(mysqlBefore, mysqlAfter);
    // Leave out the benchmark's own statements: the lock sampler's and the closing SHOW STATUS.
    result.mysql.questions -= (lockSamplers[g]?.queries ?? 0) + 1;
    if (ctx.lockDatabase) result.lockWaits = lockWaits[g] ?? [];
    result.loadAverage = loadAverages;
    first.progress?.finish(describePhase(result), first.label);
    return [{ result, outcome }];
  });
}

function mergeLockWaits(a: LockWaitPair[], b: LockWaitPair[]): LockWaitPair[] {
  const all = new Map<string, LockWaitPair>();
  for (const p of [...a, ...b]) {
    const key = `${p.table}|${p.index}|${p.mode}|${p.waiting}|${p.blocking}`;
    const e = all.get(key);
    if (e) e.samples += p.samples;
    else all.set(key, { ...p });
  }
  return [...all.values()].sort((x, y) => y.samples - x.samples).slice(0, 8);
}

function combine(outcomes: LoadOutcome[]): LoadOutcome {
  if (outcomes.length === 1 && outcomes[0]) return outcomes[0];
  const count = outcomes.reduce((s, o) => s + o.count, 0);
  const latencyMs = new Float64Array(count);
  const status = new Uint16Array(count);
  const finishedAtMs = new Float64Array(count);
  let at = 0;
  let offset = 0;
  for (const o of outcomes) {
    latencyMs.set(o.latencyMs, at);
    status.set(o.status, at);
    for (let i = 0; i < o.count; i++) finishedAtMs[at + i] = (o.finishedAtMs[i] ?? 0) + offset;
    at += o.count;
    offset += o.seconds * 1000;
  }
  return {
    seconds: outcomes.reduce((s, o) => s + o.seconds, 0),
    count,
    latencyMs,
    status,
    finishedAtMs,
    errorSamples: outcomes.flatMap((o) => o.errorSamples).slice(0, 5),
    maxStartLagMs: Math.max(...outcomes.map((o) => o.maxStartLagMs)),
  };
}

function phaseResult(spec: LoadSpec, outcome: LoadOutcome, options: PhaseOptions): PhaseResult {
  const statuses: Record<string, number> = {};
  let ok = 0;
  let rejected = 0;
  let pending = 0;
  let errors = 0;
  const okLatency: number[] = [];
  for (let i = 0; i < outcome.count; i++) {
    const s = outcome.status[i] ?? 0;
    const key = s === 0 ? "network-error" : String(s);
    statuses[key] = (statuses[key] ?? 0) + 1;
    if (s === 200) {
      ok++;
      okLatency.push(outcome.latencyMs[i] ?? 0);
    } else if (s === 409) rejected++;
    else if (s === 202) pending++;
    else errors++;
  }
  const seconds = outcome.seconds;
  const result: PhaseResult = {
    name: spec.label,
    startedAtMs: 0,
    concurrency: spec.concurrency,
    ...(spec.ratePerSecond === undefined ? {} : { targetRate: round(spec.ratePerSecond) }),
    requests: outcome.count,
    seconds: round(seconds, 2),
    statuses,
    ok,
    rejected,
    pending,
    errors,
    errorSamples: outcome.errorSamples,
    requestsPerSecond: round(outcome.count / seconds),
    okPerSecond: round(ok / seconds),
    rejectedPerSecond: round(rejected / seconds),
    latencyMs: roundSummary(summarize(outcome.latencyMs)),
    okLatencyMs: roundSummary(summarize(okLatency)),
    clientCpuPercent: 0,
    processes: [],
    redisUsedMemory: { before: 0, after: 0, peak: 0 },
    mysql: { rowLockWaits: 0, rowLockTimeMs: 0, commits: 0, questions: 0 },
  };
  if (options.stock !== undefined) result.saleWindow = saleWindow(outcome, options.stock);
  return result;
}

/**
 * While stock lasts: from the start until the answer that sold the last unit (the
 * `stock`-th 200), or the last 200 when fewer sold. Latency over the answers in it.
 */
function saleWindow(outcome: LoadOutcome, stock: number): PhaseResult["saleWindow"] {
  let sold = 0;
  let endIndex = -1;
  for (let i = 0; i < outcome.count; i++) {
    if (outcome.status[i] === 200) {
      sold++;
      endIndex = i;
      if (sold >= stock) break;
    }
  }
  if (endIndex < 0)
    return { completed: 0, seconds: 0, completedPerSecond: 0, latencyMs: summarize([]), source: "http" };
  const seconds = (outcome.finishedAtMs[endIndex] ?? 0) / 1000;
  return {
    completed: sold,
    seconds: round(seconds, 3),
    completedPerSecond: round(sold / seconds),
    latencyMs: roundSummary(summarize(outcome.latencyMs.subarray(0, endIndex + 1))),
    source: "http",
  };
}

function roundSummary(s: ReturnType<typeof summarize>): ReturnType<typeof summarize> {
  return { p50: round(s.p50), p95: round(s.p95), p99: round(s.p99), max: round(s.max), mean: round(s.mean) };
}

export function describePhase(p: PhaseResult): string {
  const parts = [
    `${p.requests} req in ${p.seconds}s = ${p.requestsPerSecond} req/s`,
    `200 ${p.ok} (${p.okPerSecond}/s)`,
    `409 ${p.rejected}`,
  ];
  if (p.pending) parts.push(`202 ${p.pending}`);
  if (p.errors) parts.push(`errors ${p.errors}`);
  parts.push(`p50 ${p.latencyMs.p50} p99 ${p.latencyMs.p99} max ${p.latencyMs.max} ms`);
  if (p.saleWindow) parts.push(`sale window ${p.saleWindow.completedPerSecond} completed/s`);
  return parts.join(", ");
}

/**
 * Completed orders of the clients under `clientPrefix`, from MySQL: how many, and per
 * second from the phase's start until the last (or the `stock`-th) completed. Counts
 * the checkouts answered 202 that completed after the API stopped waiting.
 */
export async function recordCompletions(
  db: Knex,
  result: PhaseResult,
  clientPrefix: string,
  stock?: number,
): Promise<void> {
  const [rows] = (await db.raw(
    "SELECT UNIX_TIMESTAMP(completed_at) * 1000 AS at FROM orders WHERE state = 'completed' AND client_id LIKE ? ORDER BY completed_at",
    [`${clientPrefix}%`],
  )) as [Array<{ at: number | string }>];
  const times = rows.map((r) => Number(r.at));
  const last = times.at(-1);
  if (last === undefined) return;
  const all = (last - result.startedAtMs) / 1000;
  result.ordersCompleted = { completed: times.length, seconds: round(all, 2), perSecond: round(times.length / all) };
  if (stock !== undefined && result.saleWindow) {
    const sold = Math.min(stock, times.length);
    const end = ((times[sold - 1] ?? last) - result.startedAtMs) / 1000;
    result.saleWindow = {
      ...result.saleWindow,
      completed: sold,
      seconds: round(end, 3),
      completedPerSecond: round(sold / end),
      source: "mysql",
    };
  }
}
