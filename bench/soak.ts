/**
 * Memory soak: the redis design at a steady rate of shopping sessions (each a new
 * client adding 1 to 3 items, then checking out) for N minutes, sampling the RSS of
 * every process and Redis used_memory; growth is the last window's mean against the
 * first's.
 */
import { checkCorrectness } from "./checks";
import type { BenchOptions } from "./options";
import { measurePhase } from "./phase";
import { usageOf } from "./proc";
import { watched, type InfraPids } from "./processes";
import type { Progress } from "./progress";
import { AMPLE_STOCK } from "./scenarios";
import { clientId, rng, round } from "./stats";
import { startSystem } from "./system";
import type { SoakResult, SoakSample } from "./types";
import { World, redisUsedMemory } from "./world";

const PRODUCTS = 500;
const GROWING_TABLES = ["orders", "order_items", "payments", "cart_operations", "client_cart", "reserve_purchase"];

export async function runSoak(opts: BenchOptions, infra: InfraPids, progress: Progress, sessionsPerSecond: number) {
  const s = opts.soak;
  if (!s) return null;
  const world = await World.create();
  try {
    const products = Array.from({ length: PRODUCTS }, (_, i) => ({ id: `sk-${i}`, quantity: AMPLE_STOCK }));
    await world.seedProducts(products);
    const system = await startSystem(world, "redis", opts, infra);
    try {
      const seconds = s.minutes * 60;
      progress.log(`soak: ${round(sessionsPerSecond, 1)} sessions/s (add 1-3 items, check out) for ${s.minutes} min`);
      const processes = watched(system.stack, infra);
      const tableRows = async () => {
        const rows: Record<string, number> = {};
        for (const t of GROWING_TABLES) {
          const r = (await world.db(t).count({ n: "*" }).first()) as { n: number | string } | undefined;
          rows[t] = Number(r?.n ?? 0);
        }
        return rows;
      };
      const samples: SoakSample[] = [];
      const t0 = performance.now();
      const everyKeys = Math.max(1, Math.round(30 / s.sampleSeconds));
      const sample = async () => {
        const usage = await usageOf(processes.map((p) => p.pid));
        const rssKb = Object.fromEntries(
          processes.map((p) => [p.name, Math.round((usage[p.pid]?.memory ?? 0) / 1024)]),
        );
        const point: SoakSample = { t: round((performance.now() - t0) / 1000, 1), rssKb, redisUsedMemory: 0 };
        point.redisUsedMemory = await redisUsedMemory(world.redis).catch(() => 0);
        if (samples.length % everyKeys === 0)
          point.prefixKeys = await world.prefixKeys().then(
            (k) => k.length,
            () => undefined,
          );
        samples.push(point);
      };
      const random = rng(99);
      let phase;
      let first: { rows: Record<string, number>; keys: number };
      let sampling = Promise.resolve();
      const timer = setInterval(() => (sampling = sampling.then(sample, () => undefined)), s.sampleSeconds * 1000);
      try {
        first = { rows: await tableRows(), keys: (await world.prefixKeys()).length };
        await sample();
        phase = await measurePhase(system.phase, {
          label: "soak sessions",
          targets: system.pools,
          concurrency: opts.concurrency,
          ratePerSecond: sessionsPerSecond,
          durationMs: seconds * 1000,
          progress,
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
      const last = { rows: await tableRows(), keys: (await world.prefixKeys()).length };
      const checks = await checkCorrectness(world, {
        design: "redis",
        initialStock: new Map(products.map((p) => [p.id, p.quantity])),
        // Each session's checkout answers are among the phase's 200/202 answers (adds too): only the orders are counted.
        checkoutAnswers: { completed: 0, pending: Number.MAX_SAFE_INTEGER },
        productPrefix: "sk-",
        timeoutMs: opts.checkTimeoutMs,
      });
      const windowSeconds = s.minutes >= 3 ? 60 : Math.max(s.sampleSeconds, seconds / 4);
      return {
        minutes: s.minutes,
        targetSessionsPerSecond: round(sessionsPerSecond, 1),
        phase,
        samples,
        growth: growth(samples, processes, windowSeconds),
        windowSeconds: round(windowSeconds, 1),
        prefixKeys: { first: first.keys, last: last.keys },
        tableRows: Object.fromEntries(
          GROWING_TABLES.map((t) => [t, { first: first.rows[t] ?? 0, last: last.rows[t] ?? 0 }]),
        ),
        checks,
      } satisfies SoakResult;
    } finally {
      await system.stop();
    }
  } finally {
    await world.destroy();
  }
}

/** Per series (each process's RSS, Redis used_memory): the mean over the first and the last window. */
function growth(
  samples: SoakSample[],
  processes: Array<{ name: string }>,
  windowSeconds: number,
): SoakResult["growth"] {
  const end = samples.at(-1)?.t ?? 0;
  const first = samples.filter((p) => p.t <= windowSeconds);
  const last = samples.filter((p) => p.t >= end - windowSeconds);
  const mean = (list: SoakSample[], f: (p: SoakSample) => number) =>
    list.length ? list.reduce((sum, p) => sum + f(p), 0) / list.length : 0;
  const series: Array<[string, (x: SoakSample) => number]> = [
    ...processes.map((p): [string, (x: SoakSample) => number] => [
      `${p.name} RSS`,
      (x) => (x.rssKb[p.name] ?? 0) / 1024,
    ]),
    ["Redis used_memory", (x) => x.redisUsedMemory / 1_048_576],
  ];
  return series.map(([name, f]) => {
    const a = mean(first, f);
    const b = mean(last, f);
    const percent = round(a ? (100 * (b - a)) / a : 0, 1);
    return { series: name, unit: "MiB", first: round(a, 1), last: round(b, 1), delta: round(b - a, 1), percent };
  });
}
