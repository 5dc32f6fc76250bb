/**
 * The redis design at a steady, open-loop rate: the API's horizontal scale (the same offered
 * checkouts over 1, 2 and 4 API processes) and the memory soak (new shoppers for N minutes,
 * every process's RSS and Redis used_memory sampled; growth: the last window against the first).
 */
import type { BenchOptions } from "./options";
import { listTask } from "./load";
import { measurePhase, recordCompletions, usageOf } from "./phase";
import { add, ampleCatalog, answers, checkout, seeded, type Scenario, type ScenarioOutput } from "./scenarios";
import { Random } from "../test/chaos/prng";
import { clientId, cpuOf, isApi, isWorker, round } from "./stats";
import { runSession, type Bench } from "./system";
import type { BenchResult, PhaseResult, SoakSample } from "./types";
import { countRows, prefixKeyCount, type World } from "./world";

const SCALE_PRODUCTS = 200;
const SOAK_PRODUCTS = 500;
const GROWING_TABLES = ["orders", "order_items", "payments", "cart_operations", "client_cart", "reserve_purchase"];
const picks = (random: Random, n: number) => Array.from({ length: random.int(1, 3) }, () => random.int(0, n - 1));

/** Carts of 1-3 of 200 products, checked out at `rate` for `seconds`. */
function scaleScenario(concurrency: number, rate: number, seconds: number): Scenario {
  const carts = Math.ceil(rate * seconds * 1.2) + concurrency;
  return {
    id: "scale",
    seed(world) {
      const random = new Random(11);
      const lines = () =>
        [...new Set(picks(random, SCALE_PRODUCTS))].map((p) => ({ productId: `sc-${p}`, quantity: 1 }));
      const list = Array.from({ length: carts }, (_, i) => ({ clientId: clientId("sc-c", i), lines: lines() }));
      return seeded(world, ampleCatalog("sc-", SCALE_PRODUCTS), list, "sc-");
    },
    async run(d) {
      const result = await measurePhase(d.phase, {
        ...{ label: `scale x${d.pools.length} checkout`, targets: d.pools, concurrency, progress: d.progress },
        ...{ ratePerSecond: rate, durationMs: seconds * 1000 },
        // Timed: the progress bar runs over the phase's duration, not the carts.
        ...{ ...listTask(Array.from({ length: carts }, (_, i) => checkout(clientId("sc-c", i)))), total: undefined },
      });
      await recordCompletions(d.world.db, result, "sc-c");
      return { phases: [result], checkoutAnswers: answers(result) };
    },
  };
}

export async function runScale(bench: Bench, s: NonNullable<BenchOptions["scale"]>, rate: number) {
  bench.progress.log("\nhorizontal scale of the API");
  const results: BenchResult["scale"] = [];
  for (const apiProcesses of s.processes) {
    bench.progress.log(`scale: ${apiProcesses} API process(es), ${round(rate)} checkouts/s for ${s.seconds}s`);
    const scenario = scaleScenario(bench.opts.concurrency, rate, s.seconds);
    const [run] = await runSession(bench, "redis", [scenario], apiProcesses);
    const phase = run?.output.phases[0];
    if (!run || !phase) continue;
    const api = phase.processes.filter(isApi);
    const apiCpuMsPerRequest = round(
      phase.requests ? (1000 * cpuOf(phase, isApi, "cpuSeconds")) / phase.requests : 0,
      3,
    );
    results.push({
      ...{ apiProcesses, targetRate: round(rate), phase, apiCpuPercent: api.map((p) => p.cpuPercent) },
      ...{ apiCpuPercentTotal: round(cpuOf(phase, isApi)), apiCpuMsPerRequest },
      ...{ workersCpuPercent: round(cpuOf(phase, isWorker)), checksOk: run.checks.ok },
    });
  }
  return results;
}

/** The rows of the tables that grow with traffic, and the keys under the world's prefix. */
async function census(world: World) {
  const rows = await Promise.all(GROWING_TABLES.map(async (t) => [t, await countRows(world.db(t))] as const));
  return { rows: Object.fromEntries(rows), keys: await prefixKeyCount(world) };
}
type Census = Awaited<ReturnType<typeof census>>;

type Soak = NonNullable<BenchOptions["soak"]>;
type SoakOutput = ScenarioOutput & { phase: PhaseResult; samples: SoakSample[]; first: Census; last: Census };

/** New shoppers at `sessionsPerSecond`, each adding 1-3 items and checking out, while memory is sampled. */
function soakScenario(concurrency: number, sessionsPerSecond: number, s: Soak): Scenario<SoakOutput> {
  return {
    id: "soak",
    seed: (world) => seeded(world, ampleCatalog("sk-", SOAK_PRODUCTS), [], "sk-"),
    async run(d) {
      const samples: SoakSample[] = [];
      const t0 = performance.now();
      const sample = async () => {
        const usage = await usageOf(d.processes.map((p) => p.pid));
        const kb = (pid: number) => Math.round((usage[pid]?.memory ?? 0) / 1024);
        const rssKb = Object.fromEntries(d.processes.map((p) => [p.name, kb(p.pid)]));
        const redisUsedMemory = await d.world.servers.usedMemory().catch(() => 0);
        samples.push({ t: round((performance.now() - t0) / 1000, 1), rssKb, redisUsedMemory });
      };
      const random = new Random(99);
      const first = await census(d.world);
      await sample();
      let sampling = Promise.resolve();
      const timer = setInterval(() => (sampling = sampling.then(sample, () => undefined)), s.sampleSeconds * 1000);
      const phase = await measurePhase(d.phase, {
        ...{ label: "soak sessions", targets: d.pools, concurrency, progress: d.progress },
        ...{ ratePerSecond: sessionsPerSecond, durationMs: s.minutes * 60_000 },
        task: async (i, send) => {
          const clientID = clientId("sk-c", i);
          for (const p of picks(random, SOAK_PRODUCTS)) if ((await send(add(clientID, `sk-${p}`))) !== 200) return true;
          await send(checkout(clientID));
          return true;
        },
      }).finally(async () => {
        clearInterval(timer);
        await sampling;
      });
      await sample();
      // Each session's checkout answers are among the phase's 200/202 answers (adds too): only the orders are counted.
      const checkoutAnswers = { completed: 0, pending: Number.MAX_SAFE_INTEGER };
      return { phases: [phase], checkoutAnswers, phase, samples, first, last: await census(d.world) };
    },
  };
}

export async function runSoak(bench: Bench, s: Soak, sessionsPerSecond: number): Promise<BenchResult["soak"]> {
  bench.progress.log("\nmemory soak");
  bench.progress.log(`soak: ${round(sessionsPerSecond, 1)} sessions/s (add 1-3 items, check out) for ${s.minutes} min`);
  const [run] = await runSession(bench, "redis", [soakScenario(bench.opts.concurrency, sessionsPerSecond, s)]);
  if (!run) return null;
  const { phase, samples, first, last } = run.output;
  const windowSeconds = s.minutes >= 3 ? 60 : Math.max(s.sampleSeconds, (s.minutes * 60) / 4);
  const rows = (t: string) => ({ first: first.rows[t] ?? 0, last: last.rows[t] ?? 0 });
  const tableRows = Object.fromEntries(GROWING_TABLES.map((t) => [t, rows(t)]));
  return {
    ...{ minutes: s.minutes, targetSessionsPerSecond: round(sessionsPerSecond, 1), phase, samples },
    ...{ growth: growth(samples, windowSeconds), windowSeconds: round(windowSeconds, 1) },
    ...{ prefixKeys: { first: first.keys, last: last.keys }, tableRows, checks: run.checks },
  };
}

/** Per series (each process's RSS, Redis used_memory): the mean over the first and the last window, MiB. */
function growth(samples: SoakSample[], windowSeconds: number): NonNullable<BenchResult["soak"]>["growth"] {
  const end = samples.at(-1)?.t ?? 0;
  const windows = [samples.filter((p) => p.t <= windowSeconds), samples.filter((p) => p.t >= end - windowSeconds)];
  const rss = Object.keys(samples[0]?.rssKb ?? {}).map(
    (name) => [`${name} RSS`, (x: SoakSample) => (x.rssKb[name] ?? 0) / 1024] as const,
  );
  const series = [...rss, ["Redis used_memory", (x: SoakSample) => x.redisUsedMemory / 1_048_576] as const];
  return series.map(([name, f]) => {
    const [a = 0, b = 0] = windows.map((w) => (w.length ? w.reduce((sum, p) => sum + f(p), 0) / w.length : 0));
    const percent = round(a ? (100 * (b - a)) / a : 0, 1);
    return { series: name, unit: "MiB", first: round(a, 1), last: round(b, 1), delta: round(b - a, 1), percent };
  });
}
