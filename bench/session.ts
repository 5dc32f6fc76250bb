/**
 * Scenarios against one design in a world and processes of their own: each is seeded,
 * run, then checked at quiescence; the world and the processes are removed afterwards.
 */
import { scrapeWriteBatches } from "./batches";
import { checkCorrectness } from "./checks";
import type { BenchOptions } from "./options";
import type { InfraPids } from "./processes";
import type { Progress } from "./progress";
import type { Scenario, ScenarioOutput, Seeded } from "./scenarios";
import { onCluster, startSystem } from "./system";
import type { CorrectnessChecks, DesignId, WriteBatches } from "./types";
import { createWorld, destroyWorld } from "./world";

export interface Checked<Out> {
  seeded: Seeded;
  output: Out;
  checks: CorrectnessChecks;
  startupSeconds: number;
  /** The group-commit batches of the workers over the whole session, when it ran one scenario. */
  writeBatches?: WriteBatches;
}

export async function runSession<Out extends ScenarioOutput>(
  opts: BenchOptions,
  infra: InfraPids,
  design: DesignId,
  scenarios: Array<Scenario<Out>>,
  log: Progress,
  apiProcesses = 1,
): Promise<Array<Checked<Out>>> {
  const world = await createWorld(onCluster(design));
  try {
    const prepared: Array<{ scenario: Scenario<Out>; seed: Seeded }> = [];
    for (const scenario of scenarios) prepared.push({ scenario, seed: await scenario.seed(world, opts) });
    const system = await startSystem(world, design, opts, infra, apiProcesses);
    const out: Array<Checked<Out>> = [];
    try {
      for (const { scenario, seed } of prepared) {
        const label = `${scenario.id}/${design}`;
        const { pools, phase, processes } = system;
        const output = await scenario.run({ world, design, pools, phase, processes, opts, progress: log, label });
        const checks = await checkCorrectness(world, {
          design,
          initialStock: seed.initialStock,
          checkoutAnswers: output.checkoutAnswers,
          productPrefix: seed.productPrefix,
          expectedCartRows: output.expectedCartRows,
          timeoutMs: opts.checkTimeoutMs,
        });
        const violations = checks.ok ? "" : `; VIOLATIONS: ${checks.violations.join("; ")}`;
        log.log(
          `  ${label} checks: oversold ${checks.oversoldUnits}, conservation ${checks.conservation}, Redis=MySQL ${checks.redisMatchesMysql ?? "n/a"}, completed ${checks.completedOrders}${violations}`,
        );
        out.push({ seeded: seed, output, checks, startupSeconds: system.stack.startupSeconds });
      }
      const batches = out.length === 1 ? await scrapeWriteBatches(system.stack.workerMetricsUrls) : null;
      if (batches && out[0]) out[0].writeBatches = batches;
    } finally {
      await system.stop();
    }
    return out;
  } finally {
    await destroyWorld(world);
  }
}
