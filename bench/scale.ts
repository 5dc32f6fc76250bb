/**
 * Horizontal scale of the API: the same offered load (a fixed rate of checkouts,
 * spread round-robin over the API processes) with 1, 2 and 4 API processes, each on
 * its own port; what CPU each API process spends.
 */
import type { BenchOptions } from "./options";
import { measurePhase, recordCompletions } from "./phase";
import type { InfraPids } from "./processes";
import type { Progress } from "./progress";
import { ampleCatalog, seeded, type Scenario } from "./scenarios";
import { runSession } from "./session";
import { clientId, rng, round } from "./stats";
import type { ProcessUsage, ScaleResult } from "./types";

const PRODUCTS = 200;

/** Carts of 1-3 of 200 products, checked out at `rate` for `seconds`. */
function scaleScenario(opts: BenchOptions, rate: number, seconds: number): Scenario {
  const carts = Math.ceil(rate * seconds * 1.2) + opts.concurrency;
  return {
    id: "scale",
    seed(world) {
      const random = rng(11);
      const pick = () => Array.from({ length: 1 + Math.floor(random() * 3) }, () => Math.floor(random() * PRODUCTS));
      const lines = () => [...new Set(pick())].map((p) => ({ productId: `sc-${p}`, quantity: 1 }));
      const list = Array.from({ length: carts }, (_, i) => ({ clientId: clientId("sc-c", i), lines: lines() }));
      return seeded(world, ampleCatalog("sc-", PRODUCTS), list, "sc-");
    },
    async run(d) {
      const result = await measurePhase(d.phase, {
        label: `scale x${d.pools.length} checkout`,
        targets: d.pools,
        concurrency: opts.concurrency,
        ratePerSecond: rate,
        durationMs: seconds * 1000,
        progress: d.progress,
        task: async (i, send) => {
          if (i >= carts) return false;
          await send({ method: "POST", path: "/checkOutCart", body: { clientID: clientId("sc-c", i) } });
          return true;
        },
      });
      await recordCompletions(d.world.db, result, "sc-c");
      return { phases: [result], checkoutAnswers: { completed: result.ok, pending: result.pending } };
    },
  };
}

export async function runScale(opts: BenchOptions, infra: InfraPids, progress: Progress, rate: number) {
  const s = opts.scale;
  const results: ScaleResult[] = [];
  for (const apiProcesses of s?.processes ?? []) {
    progress.log(`scale: ${apiProcesses} API process(es), ${round(rate)} checkouts/s for ${s?.seconds}s`);
    const scenario = scaleScenario(opts, rate, s?.seconds ?? 0);
    const [run] = await runSession(opts, infra, "redis", [scenario], progress, apiProcesses);
    const phase = run?.output.phases[0];
    if (!run || !phase) continue;
    const sum = (list: ProcessUsage[], f: (p: ProcessUsage) => number) => list.reduce((n, p) => n + f(p), 0);
    const api = phase.processes.filter((p) => p.name === "api" || p.name.startsWith("api-"));
    const workers = phase.processes.filter((p) => p.name.startsWith("worker-"));
    results.push({
      apiProcesses,
      targetRate: round(rate),
      phase,
      apiCpuPercent: api.map((p) => p.cpuPercent),
      apiCpuPercentTotal: round(sum(api, (p) => p.cpuPercent)),
      apiCpuMsPerRequest: round(phase.requests ? (1000 * sum(api, (p) => p.cpuSeconds)) / phase.requests : 0, 3),
      workersCpuPercent: round(sum(workers, (p) => p.cpuPercent)),
      checksOk: run.checks.ok,
    });
  }
  return results;
}
