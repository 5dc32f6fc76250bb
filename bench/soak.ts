/**
 * Memory soak: the redis design at a steady rate of shopping sessions (each a new
 * client adding 1 to 3 items, then checking out) for N minutes, sampling the RSS of
 * every process and Redis used_memory; growth is the last window's mean against the
 * first's.
 */
import type { BenchOptions } from "./options";
import { measurePhase } from "./phase";
import { usageOf } from "./proc";
import type { InfraPids } from "./processes";
import type { Progress } from "./progress";
import { ampleCatalog, seeded, type Scenario, type ScenarioOutput } from "./scenarios";
import { runSession } from "./session";
import { clientId, rng, round } from "./stats";
import type { PhaseResult, SoakResult, SoakSample } from "./types";
import { prefixKeyCount, type World } from "./world";

type Soak = NonNullable<BenchOptions["soak"]>;

const PRODUCTS = 500;
const GROWING_TABLES = ["orders", "order_items", "payments", "cart_operations", "client_cart", "reserve_purchase"];

interface Census {
  rows: Record<string, number>;
  keys: number;
}

/** The rows of the tables that grow with traffic, and the keys under the world's prefix. */
async function census(world: World): Promise<Census> {
  const rows: Record<string, number> = {};
  for (const t of GROWING_TABLES) {
    const r = (await world.db(t).count({ n: "*" }).first()) as { n: number | string } | undefined;
    rows[t] = Number(r?.n ?? 0);
  }
  return { rows, keys: await prefixKeyCount(world) };
}

type SoakOutput = ScenarioOutput & { phase: PhaseResult; samples: SoakSample[]; first: Census; last: Census };

/** New shoppers at `sessionsPerSecond`, each adding 1-3 items and checking out, while memory is sampled. */
function soakScenario(opts: BenchOptions, sessionsPerSecond: number, s: Soak): Scenario<SoakOutput> {
  return {
    id: "soak",
    seed: (world) => seeded(world, ampleCatalog("sk-", PRODUCTS), [], "sk-"),
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
      const random = rng(99);
      const first = await census(d.world);
      await sample();
      let sampling = Promise.resolve();
      const timer = setInterval(() => (sampling = sampling.then(sample, () => undefined)), s.sampleSeconds * 1000);
      let phase: PhaseResult;
      try {
        phase = await measurePhase(d.phase, {
          label: "soak sessions",
          targets: d.pools,
          concurrency: opts.concurrency,
          ratePerSecond: sessionsPerSecond,
          durationMs: s.minutes * 60_000,
          progress: d.progress,
          task: async (i, send) => {
            const clientID = clientId("sk-c", i);
            const lines = Array.from({ length: 1 + Math.floor(random() * 3) }, () => Math.floor(random() * PRODUCTS));
            for (const p of lines) {
              const body = { clientID, productID: `sk-${p}`, quantity: 1 };
              if ((await send({ method: "POST", path: "/addToCart", body })) !== 200) return true;
            }
            await send({ method: "POST", path: "/checkOutCart", body: { clientID } });
            return true;
          },
        });
      } finally {
        clearInterval(timer);
        await sampling;
      }
      await sample();
      // Each session's checkout answers are among the phase's 200/202 answers (adds too): only the orders are counted.
      const checkoutAnswers = { completed: 0, pending: Number.MAX_SAFE_INTEGER };
      return { phases: [phase], checkoutAnswers, phase, samples, first, last: await census(d.world) };
    },
  };
}

export async function runSoak(opts: BenchOptions, infra: InfraPids, progress: Progress, sessionsPerSecond: number) {
  const s = opts.soak;
  if (!s) return null;
  progress.log(`soak: ${round(sessionsPerSecond, 1)} sessions/s (add 1-3 items, check out) for ${s.minutes} min`);
  const [run] = await runSession(opts, infra, "redis", [soakScenario(opts, sessionsPerSecond, s)], progress);
  if (!run) return null;
  const { phase, samples, first, last } = run.output;
  const windowSeconds = s.minutes >= 3 ? 60 : Math.max(s.sampleSeconds, (s.minutes * 60) / 4);
  const names = Object.keys(samples[0]?.rssKb ?? {});
  return {
    minutes: s.minutes,
    targetSessionsPerSecond: round(sessionsPerSecond, 1),
    phase,
    samples,
    growth: growth(samples, names, windowSeconds),
    windowSeconds: round(windowSeconds, 1),
    prefixKeys: { first: first.keys, last: last.keys },
    tableRows: Object.fromEntries(
      GROWING_TABLES.map((t) => [t, { first: first.rows[t] ?? 0, last: last.rows[t] ?? 0 }]),
    ),
    checks: run.checks,
  } satisfies SoakResult;
}

/** Per series (each process's RSS, Redis used_memory): the mean over the first and the last window. */
function growth(samples: SoakSample[], names: string[], windowSeconds: number): SoakResult["growth"] {
  const end = samples.at(-1)?.t ?? 0;
  const first = samples.filter((p) => p.t <= windowSeconds);
  const last = samples.filter((p) => p.t >= end - windowSeconds);
  const mean = (list: SoakSample[], f: (p: SoakSample) => number) =>
    list.length ? list.reduce((sum, p) => sum + f(p), 0) / list.length : 0;
  const series: Array<[string, (x: SoakSample) => number]> = [
    ...names.map((name): [string, (x: SoakSample) => number] => [`${name} RSS`, (x) => (x.rssKb[name] ?? 0) / 1024]),
    ["Redis used_memory", (x) => x.redisUsedMemory / 1_048_576],
  ];
  return series.map(([name, f]) => {
    const a = mean(first, f);
    const b = mean(last, f);
    const percent = round(a ? (100 * (b - a)) / a : 0, 1);
    return { series: name, unit: "MiB", first: round(a, 1), last: round(b, 1), delta: round(b - a, 1), percent };
  });
}
