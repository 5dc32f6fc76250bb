/**
 * Horizontal scale of the API: the same offered load (a fixed rate of checkouts,
 * spread round-robin over the API processes) with 1, 2 and 4 API processes, each on
 * its own port; what CPU each API process spends.
 */
import { checkCorrectness } from "./checks";
import type { BenchOptions } from "./options";
import { measurePhase, recordCompletions } from "./phase";
import type { InfraPids } from "./processes";
import type { Progress } from "./progress";
import { AMPLE_STOCK } from "./scenarios";
import { clientId, rng, round } from "./stats";
import { startSystem } from "./system";
import type { ScaleResult } from "./types";
import { World, type Cart } from "./world";

export async function runScale(
  opts: BenchOptions,
  infra: InfraPids,
  progress: Progress,
  rate: number,
): Promise<ScaleResult[]> {
  const s = opts.scale;
  if (!s) return [];
  const results: ScaleResult[] = [];
  for (const apiProcesses of s.processes) {
    const world = await World.create();
    try {
      const products = Array.from({ length: 200 }, (_, i) => ({ id: `sc-${i}`, quantity: AMPLE_STOCK }));
      await world.seedProducts(products);
      const carts = Math.ceil(rate * s.seconds * 1.2) + opts.concurrency;
      const random = rng(11);
      await world.seedCarts(
        Array.from({ length: carts }, (_, i): Cart => ({
          clientId: clientId("sc-c", i),
          lines: [
            ...new Set(Array.from({ length: 1 + Math.floor(random() * 3) }, () => Math.floor(random() * 200))),
          ].map((p) => ({ productId: `sc-${p}`, quantity: 1 })),
        })),
      );
      progress.log(`scale: ${apiProcesses} API process(es), ${round(rate)} checkouts/s for ${s.seconds}s`);
      const system = await startSystem(world, "redis", opts, infra, apiProcesses);
      try {
        const result = await measurePhase(system.phase, {
          label: `scale x${apiProcesses} checkout`,
          targets: system.pools,
          concurrency: opts.concurrency,
          ratePerSecond: rate,
          durationMs: s.seconds * 1000,
          progress,
          task: async (i, send) => {
            if (i >= carts) return false;
            await send({ method: "POST", path: "/checkOutCart", body: { clientID: clientId("sc-c", i) } });
            return true;
          },
        });
        await recordCompletions(world.db, result, "sc-c");
        const apiNames = new Set(system.stack.apis.map((a) => a.name));
        const api = result.processes.filter((p) => apiNames.has(p.name));
        const apiCpuSeconds = api.reduce((sum, p) => sum + p.cpuSeconds, 0);
        const workers = result.processes.filter((p) => p.name.startsWith("worker-"));
        const checks = await checkCorrectness(world, {
          design: "redis",
          initialStock: new Map(products.map((p) => [p.id, p.quantity])),
          checkoutAnswers: { completed: result.ok, pending: result.pending },
          productPrefix: "sc-",
          timeoutMs: opts.checkTimeoutMs,
        });
        results.push({
          apiProcesses,
          targetRate: round(rate),
          phase: result,
          apiCpuPercent: api.map((p) => p.cpuPercent),
          apiCpuPercentTotal: round(api.reduce((sum, p) => sum + p.cpuPercent, 0)),
          apiCpuMsPerRequest: round(result.requests ? (1000 * apiCpuSeconds) / result.requests : 0, 3),
          workersCpuPercent: round(workers.reduce((sum, p) => sum + p.cpuPercent, 0)),
          checksOk: checks.ok,
        });
        if (!checks.ok) progress.log(`  scale x${apiProcesses}: checks failed: ${checks.violations.join("; ")}`);
      } finally {
        await system.stop();
      }
    } finally {
      await world.destroy();
    }
  }
  return results;
}
