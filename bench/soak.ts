/**
 * Memory soak: the redis design at a steady rate of shopping sessions (each a new
 * client adding 1 to 3 items, then checking out) for N minutes, sampling the RSS of
 * every process and Redis used_memory; growth is the last window's mean against the
 * first's.
 */
import { checkCorrectness } from "./checks";
import type { BenchOptions } from "./options";
import { measurePhase } from "./phase";
import { memoryKb } from "./proc";
import type { InfraPids } from "./processes";
import type { Progress } from "./progress";
import { AMPLE_STOCK } from "./scenarios";
import { clientId, rng, round } from "./stats";
import { startSystem } from "./system";
import type { SoakResult, SoakSample } from "./types";
import { World, redisUsedMemory } from "./world";

const PRODUCTS = 500;
const GROWING_TABLES = ["orders", "order_items", "payments", "cart_operations", "client_cart", "reserve_purchase"];

export async function runSoak(
  opts: BenchOptions,
  infra: InfraPids,
  progress: Progress,
  sessionsPerSecond: number,
): Promise<SoakResult | null> {
  const s = opts.soak;
  if (!s) return null;
  const world = await World.create();
  try {
    const products = Array.from({ length: PRODUCTS }, (_, i) => ({ id: `sk-${i}`, quantity: AMPLE_STOCK }));
    await world.seedProducts(products);
    const system = await startSystem(world, "redis", opts, infra);
    let stopped = false;
    const stop = async () => {
      if (!stopped) await system.stop();
      stopped = true;
    };
    try {
      const seconds = s.minutes * 60;
      progress.log(`soak: ${round(sessionsPerSecond, 1)} sessions/s (add 1-3 items, check out) for ${s.minutes} min`);
      const samples: SoakSample[] = [];
      const watchedNow = [...system.stack.apis, ...system.stack.workers].map((p) => ({ name: p.name, pid: p.pid }));
      if (infra.redis) watchedNow.push({ name: "redis-server", pid: infra.redis });
      if (infra.mysql) watchedNow.push({ name: "mariadbd", pid: infra.mysql });
      const t0 = performance.now();
      const tableRows = async () => {
        const rows: Record<string, number> = {};
        for (const t of GROWING_TABLES) {
          const r = (await world.db(t).count({ n: "*" }).first()) as { n: number | string } | undefined;
          rows[t] = Number(r?.n ?? 0);
        }
        return rows;
      };
      let sampling = Promise.resolve();
      let sampleNo = 0;
      const everyKeys = Math.max(1, Math.round(30 / s.sampleSeconds));
      const sample = async () => {
        const rssKb: Record<string, number> = {};
        for (const p of watchedNow) rssKb[p.name] = memoryKb(p.pid).rss;
        const point: SoakSample = { t: round((performance.now() - t0) / 1000, 1), rssKb, redisUsedMemory: 0 };
        point.redisUsedMemory = await redisUsedMemory(world.redis).catch(() => 0);
        if (sampleNo++ % everyKeys === 0) point.prefixKeys = await world.countKeys().catch(() => undefined);
        samples.push(point);
      };
      const firstRows = await tableRows();
      const firstKeys = await world.countKeys();
      await sample();
      const timer = setInterval(() => {
        sampling = sampling.then(sample, () => undefined);
      }, s.sampleSeconds * 1000);
      const random = rng(99);
      const plan = (i: number) => {
        const n = 1 + Math.floor(random() * 3);
        return {
          clientID: clientId("sk-c", i),
          products: Array.from({ length: n }, () => `sk-${Math.floor(random() * PRODUCTS)}`),
        };
      };
      let phase;
      try {
        phase = await measurePhase(system.phase, {
          label: "soak sessions",
          targets: system.pools,
          concurrency: opts.concurrency,
          ratePerSecond: sessionsPerSecond,
          durationMs: seconds * 1000,
          progress,
          task: async (i, send) => {
            const { clientID, products: lines } = plan(i);
            for (const productID of lines)
              if (
                (await send({ method: "POST", path: "/addToCart", body: { clientID, productID, quantity: 1 } })) !== 200
              )
                return true;
            await send({ method: "POST", path: "/checkOutCart", body: { clientID } });
            return true;
          },
        });
      } finally {
        clearInterval(timer);
        await sampling;
      }
      await sample();
      const lastKeys = await world.countKeys();
      const keyKinds = await world.keyKinds();
      const lastRows = await tableRows();
      const checks = await checkCorrectness(world, {
        design: "redis",
        initialStock: new Map(products.map((p) => [p.id, p.quantity])),
        // Each session's checkout answers are among the phase's 200/202 answers (adds too): only the orders are counted.
        checkoutAnswers: { completed: 0, pending: Number.MAX_SAFE_INTEGER },
        productPrefix: "sk-",
        timeoutMs: opts.checkTimeoutMs,
      });
      await stop();

      const windowSeconds = s.minutes >= 3 ? 60 : Math.max(s.sampleSeconds, seconds / 4);
      const end = samples.at(-1)?.t ?? 0;
      const first = samples.filter((p) => p.t <= windowSeconds);
      const last = samples.filter((p) => p.t >= end - windowSeconds);
      const mean = (list: SoakSample[], f: (p: SoakSample) => number) =>
        list.length ? list.reduce((sum, p) => sum + f(p), 0) / list.length : 0;
      const series: Array<{ series: string; unit: string; f: (p: SoakSample) => number }> = [
        ...watchedNow.map((p) => ({
          series: `${p.name} RSS`,
          unit: "MiB",
          f: (x: SoakSample) => (x.rssKb[p.name] ?? 0) / 1024,
        })),
        { series: "Redis used_memory", unit: "MiB", f: (x) => x.redisUsedMemory / 1_048_576 },
      ];
      const growth = series.map(({ series: name, unit, f }) => {
        const a = mean(first, f);
        const b = mean(last, f);
        return {
          series: name,
          unit,
          first: round(a, 1),
          last: round(b, 1),
          delta: round(b - a, 1),
          percent: round(a ? (100 * (b - a)) / a : 0, 1),
        };
      });
      return {
        minutes: s.minutes,
        targetSessionsPerSecond: round(sessionsPerSecond, 1),
        phase: phase.result,
        samples,
        growth,
        windowSeconds: round(windowSeconds, 1),
        prefixKeys: { first: firstKeys, last: lastKeys },
        keyKinds,
        tableRows: Object.fromEntries(
          GROWING_TABLES.map((t) => [t, { first: firstRows[t] ?? 0, last: lastRows[t] ?? 0 }]),
        ),
        checks,
      };
    } finally {
      await stop();
    }
  } finally {
    await world.destroy();
  }
}
