/** One measured phase: the load, and around it the CPU, memory and server counters. */
import { loadavg } from "node:os";
import type { Redis } from "ioredis";
import type { Knex } from "@oms/shared";
import { runLoad, type LoadOutcome, type LoadSpec } from "./load";
import type { ProcSampler } from "./proc";
import { round, summarize } from "./stats";
import type { PhaseResult, ProcessUsage } from "./types";
import { mysqlStatus, redisUsedMemory } from "./world";

export interface PhaseContext {
  sampler: ProcSampler;
  redis: Redis;
  db: Knex;
}

export async function measurePhase(ctx: PhaseContext, spec: LoadSpec): Promise<PhaseResult> {
  const [result] = await measureAlternating(ctx, [[spec]]);
  if (!result) throw new Error(`${spec.label}: no result`);
  return result;
}

/**
 * Alternates rounds of several measurements (round 1 of each, then round 2 of each...),
 * so that they see the same noise of a shared machine; one phase result per group.
 */
export async function measureAlternating(ctx: PhaseContext, groups: LoadSpec[][]): Promise<PhaseResult[]> {
  const memBefore = await redisUsedMemory(ctx.redis);
  const mysqlBefore = await mysqlStatus(ctx.db);
  const loadAverage = [loadavg()[0] ?? 0];
  const startedAtMs = Date.now();
  let memPeak = memBefore;
  const memTimer = setInterval(() => {
    redisUsedMemory(ctx.redis).then(
      (m) => (memPeak = Math.max(memPeak, m)),
      () => undefined,
    );
  }, 500);
  memTimer.unref();
  const runs = groups.map(() => [] as Array<{ outcome: LoadOutcome; usage: Awaited<ReturnType<ProcSampler["end"]>> }>);
  const rounds = Math.max(...groups.map((g) => g.length));
  try {
    for (let r = 0; r < rounds; r++) {
      for (const [g, group] of groups.entries()) {
        const spec = group[r];
        if (!spec) continue;
        await ctx.sampler.begin();
        const outcome = await runLoad(spec);
        runs[g]?.push({ outcome, usage: await ctx.sampler.end() });
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
  loadAverage.push(loadavg()[0] ?? 0);
  return groups.flatMap((group, g) => {
    const first = group[0];
    const list = runs[g] ?? [];
    if (!first || list.length === 0) return [];
    const wall = list.reduce((s, x) => s + x.usage.seconds, 0);
    const result = phaseResult(first, combine(list.map((x) => x.outcome)));
    result.startedAtMs = startedAtMs;
    result.clientCpuPercent = round(list.reduce((s, x) => s + (x.usage.clientCpuPercent * x.usage.seconds) / wall, 0));
    result.processes = sumUsage(
      list.map((x) => x.usage.processes),
      wall,
    );
    result.redisUsedMemory = { before: memBefore, after: memAfter, peak: Math.max(memPeak, memAfter) };
    result.mysql = {
      rowLockWaits: mysqlAfter.rowLockWaits - mysqlBefore.rowLockWaits,
      rowLockTimeMs: mysqlAfter.rowLockTimeMs - mysqlBefore.rowLockTimeMs,
      commits: mysqlAfter.commits - mysqlBefore.commits,
      // Less the benchmark's own closing SHOW STATUS.
      questions: mysqlAfter.questions - mysqlBefore.questions - 1,
    };
    result.loadAverage = loadAverage;
    first.progress?.finish(describePhase(result), first.label);
    return [result];
  });
}

/** One process's usage over several rounds: CPU summed, memory peaks. */
function sumUsage(rounds: ProcessUsage[][], wall: number): ProcessUsage[] {
  return (rounds[0] ?? []).map((p) => {
    const all = rounds.map((list) => list.find((q) => q.pid === p.pid) ?? p);
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
}

/** Rounds of one measurement as one outcome (a stock-limited sale is a single round). */
function combine(outcomes: LoadOutcome[]): LoadOutcome {
  const [first, ...rest] = outcomes;
  if (!first) throw new Error("no outcome to combine");
  for (const o of rest) {
    first.seconds += o.seconds;
    first.count += o.count;
    for (const [k, n] of Object.entries(o.statuses)) first.statuses[k] = (first.statuses[k] ?? 0) + n;
    first.latency.add(o.latency);
    first.okLatency.add(o.okLatency);
    first.errorSamples = [...first.errorSamples, ...o.errorSamples].slice(0, 5);
  }
  return first;
}

function phaseResult(spec: LoadSpec, outcome: LoadOutcome): PhaseResult {
  const { statuses, seconds, count, sale } = outcome;
  const ok = statuses["200"] ?? 0;
  const rejected = statuses["409"] ?? 0;
  const pending = statuses["202"] ?? 0;
  return {
    name: spec.label,
    startedAtMs: 0,
    concurrency: spec.concurrency,
    ...(spec.ratePerSecond === undefined ? {} : { targetRate: round(spec.ratePerSecond) }),
    requests: count,
    seconds: round(seconds, 2),
    statuses,
    ok,
    rejected,
    pending,
    errors: count - ok - rejected - pending,
    errorSamples: outcome.errorSamples,
    requestsPerSecond: round(count / seconds),
    okPerSecond: round(ok / seconds),
    rejectedPerSecond: round(rejected / seconds),
    latencyMs: summarize(outcome.latency),
    okLatencyMs: summarize(outcome.okLatency),
    ...(sale && {
      saleWindow: {
        completed: sale.sold,
        seconds: round(sale.seconds, 3),
        completedPerSecond: sale.seconds > 0 ? round(sale.sold / sale.seconds) : 0,
        latencyMs: summarize(sale.latency),
        source: "http" as const,
      },
    }),
    clientCpuPercent: 0,
    processes: [],
    redisUsedMemory: { before: 0, after: 0, peak: 0 },
    mysql: { rowLockWaits: 0, rowLockTimeMs: 0, commits: 0, questions: 0 },
  };
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
export async function recordCompletions(db: Knex, result: PhaseResult, clientPrefix: string, stock?: number) {
  const [rows] = (await db.raw(
    "SELECT UNIX_TIMESTAMP(completed_at) * 1000 AS at FROM orders WHERE state = 'completed' AND client_id LIKE ? ORDER BY completed_at",
    [`${clientPrefix}%`],
  )) as [Array<{ at: number | string }>];
  const times = rows.map((r) => Number(r.at));
  const last = times.at(-1);
  if (last === undefined) return;
  const all = (last - result.startedAtMs) / 1000;
  result.ordersCompleted = { completed: times.length, seconds: round(all, 2), perSecond: round(times.length / all) };
  if (stock === undefined || !result.saleWindow) return;
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
