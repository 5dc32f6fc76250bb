/**
 * The benchmark's quick form, run programmatically: every scenario against every design
 * (real API and worker processes, Redis, MariaDB), asserting the correctness figures,
 * not the speed.
 */
import { afterAll, describe, expect, it } from "vitest";
import { quickOptions } from "../bench/options";
import { stopAllServices } from "../bench/processes";
import { runBenchmark } from "../bench/runner";
import { World } from "../bench/world";

describe("npm run bench -- --quick", () => {
  // After a timeout the run goes on in the background: stop its processes and drop its databases.
  afterAll(async () => {
    await stopAllServices();
    await World.destroyAll();
  });

  it("sells no unit twice and conserves stock in every design", { timeout: 240_000 }, async () => {
    const opts = {
      ...quickOptions(),
      inProcess: true,
      ceilings: null,
      scale: null,
      soak: null,
      profile: false,
      progress: false,
    };
    const result = await runBenchmark(opts, { write: false });

    expect(result.runs.map((r) => `${r.scenario}/${r.design}`).sort()).toEqual(
      opts.designs.flatMap((d) => opts.scenarios.map((s) => `${s}/${d}`)).sort(),
    );
    for (const run of result.runs) {
      const what = `${run.scenario}/${run.design}: ${JSON.stringify(run.checks)}`;
      expect(run.checks.oversoldUnits, what).toBe(0);
      expect(run.checks.conservation, what).toBe(true);
      expect(run.checks.redisMatchesMysql, what).toBe(run.design === "redis" ? true : null);
      expect(run.checks.pendingOrders, what).toBe(0);
      expect(run.checks.unflushedRows, what).toBe(0);
      expect(run.checks.paymentMismatches, what).toBe(0);
      expect(run.checks.answersAgree, what).toBe(true);
      expect(run.checks.violations, what).toEqual([]);
      // Load reached the API: every phase answered something.
      for (const phase of run.phases)
        expect(phase.requests, `${run.scenario}/${run.design} ${phase.name}`).toBeGreaterThan(0);
    }
    expect(result.correctnessOk).toBe(true);
    expect(result.targets.map((t) => t.name).length).toBe(9);
  });
});
