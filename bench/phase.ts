/**
 * One measured phase: the load, and around it the CPU, memory and server counters. VmHWM
 * (peak RSS since the process started) from /proc/<pid>/status, which pidusage does not read.
 */
import { loadavg } from "node:os";
import pidusage from "pidusage";
import { z } from "zod";
import { dbNumber, rawRows, type Knex } from "@oms/shared";
import { runLoad, type LoadOutcome, type LoadSpec } from "./load";
import { mysqlStatus, type RedisServers } from "./world";
import { readText, round, summarize } from "./stats";
import type { PhaseResult, ProcessUsage } from "./types";

export type WatchedProcess = { name: string; pid: number };
type Usage = Record<string, { ctime: number; memory: number } | undefined>;

/** CPU ms and RSS bytes of each pid; a process that is gone is left out. */
export async function usageOf(pids: number[]): Promise<Usage> {
  const all = await Promise.all(pids.map((pid) => pidusage(pid).catch(() => undefined)));
  return Object.fromEntries(pids.map((pid, i) => [String(pid), all[i]]));
}

const hwmKb = (pid: number) => Number(/^VmHWM:\s+(\d+)/m.exec(readText(`/proc/${pid}/status`))?.[1] ?? 0);

/** Measures CPU between `begin` and `end` of each round, and samples RSS every 250 ms in between for the peak. */
export function procSampler(processes: WatchedProcess[]) {
  let cpuAtBegin: Usage = {};
  let peakKb = new Map<number, number>();
  let [at, self] = [0, process.cpuUsage()];
  const sample = async () => {
    const usage = await usageOf(processes.map((p) => p.pid));
    for (const { pid } of processes) peakKb.set(pid, Math.max(peakKb.get(pid) ?? 0, (usage[pid]?.memory ?? 0) / 1024));
    return usage;
  };
  const timer = setInterval(() => void sample(), 250).unref();
  return {
    stop() {
      clearInterval(timer);
      pidusage.clear();
    },
    async begin() {
      peakKb = new Map();
      [cpuAtBegin, at, self] = [await sample(), performance.now(), process.cpuUsage()];
    },
    /** CPU and memory of each process since `begin`, and this process's CPU. */
    async end() {
      const [seconds, own, usage] = [(performance.now() - at) / 1000, process.cpuUsage(self), await sample()];
      const percent = (cpuSeconds: number) => (seconds > 0 ? (100 * cpuSeconds) / seconds : 0);
      const measured = processes.map(({ name, pid }): ProcessUsage => {
        const ms = (usage[pid]?.ctime ?? 0) - (cpuAtBegin[pid]?.ctime ?? 0);
        const cpuSeconds = Number.isFinite(ms) && ms > 0 ? ms / 1000 : 0;
        const rssPeakKb = Math.round(peakKb.get(pid) ?? 0);
        return { name, pid, cpuSeconds, cpuPercent: percent(cpuSeconds), rssPeakKb, hwmKb: hwmKb(pid) };
      });
      return { processes: measured, clientCpuPercent: percent((own.user + own.system) / 1e6), seconds };
    },
  };
}
type ProcSampler = ReturnType<typeof procSampler>;

type PhaseContext = { sampler: ProcSampler; servers: RedisServers; db: Knex };
/** One round of a measurement, with the commands each redis-server processed during it. */
type Round = { outcome: LoadOutcome; usage: Awaited<ReturnType<ProcSampler["end"]>>; commands: number[] };

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
  const [memoryBefore, mysqlBefore] = [await ctx.servers.usedMemory(), await mysqlStatus(ctx.db)];
  const [loadBefore, startedAtMs] = [loadavg(), Date.now()];
  const runs = groups.map((): Round[] => []);
  const rounds = Math.max(...groups.map((g) => g.length));
  for (let r = 0; r < rounds; r++) {
    for (const [g, group] of groups.entries()) {
      const spec = group[r];
      if (!spec) continue;
      await ctx.sampler.begin();
      const commandsBefore = await ctx.servers.commands();
      const outcome = await runLoad(spec);
      const commands = (await ctx.servers.commands()).map((n, i) => n - (commandsBefore[i] ?? 0));
      runs[g]?.push({ outcome, usage: await ctx.sampler.end(), commands });
      const rate = Math.round(outcome.count / outcome.seconds);
      if (rounds > 1) spec.progress?.finish(`round ${r + 1}/${rounds}: ${outcome.count} req = ${rate} req/s`);
    }
  }
  const redisUsedMemory = { before: memoryBefore, after: await ctx.servers.usedMemory() };
  const { commits, questions } = await mysqlStatus(ctx.db);
  // Questions less the benchmark's own closing SHOW STATUS.
  const mysql = { commits: commits - mysqlBefore.commits, questions: questions - mysqlBefore.questions - 1 };
  const loadAverage = [loadBefore[0] ?? 0, loadavg()[0] ?? 0];
  return groups.flatMap((group, g) => {
    const [spec, list] = [group[0], runs[g] ?? []];
    if (!spec || list.length === 0) return [];
    const wall = list.reduce((s, x) => s + x.usage.seconds, 0);
    const processes = sumUsage(list, wall);
    const redisNodes = ctx.servers.nodes.map(({ name, pid, role }, i) => {
      const commands = list.reduce((sum, x) => sum + (x.commands[i] ?? 0), 0);
      const cpuPercent = processes.find((p) => p.pid === pid)?.cpuPercent ?? 0;
      return { node: name, role, cpuPercent, commands, opsPerSecond: round(wall > 0 ? commands / wall : 0) };
    });
    const clientCpuPercent = round(list.reduce((s, x) => s + (x.usage.clientCpuPercent * x.usage.seconds) / wall, 0));
    const measured = { startedAtMs, clientCpuPercent, processes, redisUsedMemory, redisNodes, mysql, loadAverage };
    const result = { ...phaseResult(spec, combine(list.map((x) => x.outcome))), ...measured };
    spec.progress?.finish(describePhase(result), spec.label);
    return [result];
  });
}

/** One process's usage over several rounds: CPU summed, memory peaks. */
function sumUsage(rounds: Round[], wall: number): ProcessUsage[] {
  return (rounds[0]?.usage.processes ?? []).map(({ name, pid }) => {
    const all = rounds.flatMap((r) => r.usage.processes.filter((q) => q.pid === pid));
    const cpu = all.reduce((s, q) => s + q.cpuSeconds, 0);
    const cpuPercent = round(wall > 0 ? (100 * cpu) / wall : 0);
    const [rssPeakKb, hwmKb] = [Math.max(...all.map((q) => q.rssPeakKb)), Math.max(...all.map((q) => q.hwmKb))];
    return { name, pid, cpuSeconds: round(cpu, 2), cpuPercent, rssPeakKb, hwmKb };
  });
}

/** Rounds of one measurement as one outcome (a stock-limited sale is a single round). */
function combine([first, ...rest]: LoadOutcome[]): LoadOutcome {
  if (!first) throw new Error("no outcome to combine");
  for (const o of rest) {
    [first.seconds, first.count] = [first.seconds + o.seconds, first.count + o.count];
    for (const [k, n] of Object.entries(o.statuses)) first.statuses[k] = (first.statuses[k] ?? 0) + n;
    first.latency.add(o.latency);
    first.errorSamples = [...first.errorSamples, ...o.errorSamples].slice(0, 5);
  }
  return first;
}

function phaseResult(spec: LoadSpec, { statuses, seconds, count, sale, latency, errorSamples }: LoadOutcome) {
  const [ok, rejected, pending] = [statuses["200"] ?? 0, statuses["409"] ?? 0, statuses["202"] ?? 0];
  const perSecond = (x: number, s = seconds) => (s > 0 ? round(x / s) : 0);
  return {
    name: spec.label,
    concurrency: spec.concurrency,
    ...(spec.ratePerSecond !== undefined && { targetRate: round(spec.ratePerSecond) }),
    ...{ requests: count, seconds: round(seconds, 2), statuses, ok, rejected, pending },
    ...{ errors: count - ok - rejected - pending, errorSamples },
    ...{ requestsPerSecond: perSecond(count), okPerSecond: perSecond(ok), rejectedPerSecond: perSecond(rejected) },
    latencyMs: summarize(latency),
    ...(sale && { saleWindow: saleWindow(sale.sold, sale.seconds) }),
  };
}

/** Units sold, and per second from the phase's start until the last one sold. */
const saleWindow = (completed: number, seconds: number) => {
  const completedPerSecond = seconds > 0 ? round(completed / seconds) : 0;
  return { completed, seconds: round(seconds, 3), completedPerSecond };
};

function describePhase(p: PhaseResult): string {
  return [
    `${p.requests} req in ${p.seconds}s = ${p.requestsPerSecond} req/s, 200 ${p.ok}, 409 ${p.rejected}`,
    ...(p.pending ? [`202 ${p.pending}`] : []),
    ...(p.errors ? [`errors ${p.errors}`] : []),
    `p50 ${p.latencyMs.p50} p99 ${p.latencyMs.p99} max ${p.latencyMs.max} ms`,
    ...(p.saleWindow ? [`sale window ${p.saleWindow.completedPerSecond} completed/s`] : []),
  ].join(", ");
}

/**
 * Completed orders of the clients under `clientPrefix`, from MySQL: how many, and per
 * second from the phase's start until the last (or the `stock`-th) completed. Counts
 * the checkouts answered 202 that completed after the API stopped waiting.
 */
export async function recordCompletions(db: Knex, result: PhaseResult, clientPrefix: string, stock?: number) {
  const sql =
    "SELECT UNIX_TIMESTAMP(completed_at) * 1000 AS at FROM orders WHERE state = 'completed' AND client_id LIKE ? ORDER BY completed_at";
  const rows = rawRows(z.object({ at: dbNumber }), await db.raw(sql, [`${clientPrefix}%`]));
  const times = rows.map((r) => Number(r.at));
  const last = times.at(-1);
  if (last === undefined) return;
  const all = (last - result.startedAtMs) / 1000;
  result.ordersCompleted = { completed: times.length, seconds: round(all, 2), perSecond: round(times.length / all) };
  if (stock === undefined || !result.saleWindow) return;
  const sold = Math.min(stock, times.length);
  result.saleWindow = saleWindow(sold, ((times[sold - 1] ?? last) - result.startedAtMs) / 1000);
}
