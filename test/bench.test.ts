/**
 * The benchmark's quick form, run programmatically: every scenario against every design
 * (the API and workers in this process over real HTTP, Redis servers of its own, a
 * local Redis Cluster, MariaDB), asserting the correctness figures and that each
 * redis-server's load is measured, not the speed.
 */
import { afterAll, describe, expect, it } from "vitest";
import { quickOptions } from "../bench/options";
import { stopAllServices } from "../bench/processes";
import { runBenchmark } from "../bench/runner";
import type { PhaseResult } from "../bench/types";
import { destroyAllWorlds } from "../bench/world";

describe("npm run bench -- --quick", () => {
  // After a timeout the run goes on in the background: stop its processes and drop its databases.
  afterAll(async () => {
    await stopAllServices();
    await destroyAllWorlds();
  });

  it(
    "sells no unit twice, conserves stock in every design and measures every redis-server",
    { timeout: 600_000 },
    async () => {
      const opts = { ...quickOptions(), inProcess: true, ceilings: null, scale: null, soak: null, progress: false };
      const result = await runBenchmark(opts, { write: false });

      // The Cluster runs the one hot product and the wide catalog only.
      const clusterScenarios = ["flash-sale", "wide-catalog"];
      expect(result.runs.map((r) => `${r.scenario}/${r.design}`).sort()).toEqual(
        opts.designs
          .flatMap((d) =>
            opts.scenarios.filter((s) => d !== "redis-cluster" || clusterScenarios.includes(s)).map((s) => `${s}/${d}`),
          )
          .sort(),
      );
      for (const run of result.runs) {
        const what = `${run.scenario}/${run.design}: ${JSON.stringify(run.checks)}`;
        expect(run.checks.oversoldUnits, what).toBe(0);
        expect(run.checks.conservation, what).toBe(true);
        expect(run.checks.redisMatchesMysql, what).toBe(run.design.startsWith("redis") ? true : null);
        expect(run.checks.answersAgree, what).toBe(true);
        expect(run.checks.violations, what).toEqual([]);
        // Load reached the API: every phase answered something.
        for (const phase of run.phases)
          expect(phase.requests, `${run.scenario}/${run.design} ${phase.name}`).toBeGreaterThan(0);
      }
      expect(result.correctnessOk).toBe(true);
      expect(result.targets.map((t) => t.name).length).toBe(9);

      const phase = (design: string, name: string): PhaseResult => {
        const found = result.runs
          .find((r) => r.scenario === "flash-sale" && r.design === design)
          ?.phases.find((p) => p.name.endsWith(` ${name}`));
        if (!found) throw new Error(`no flash-sale/${design} ${name} phase`);
        return found;
      };
      for (const name of ["add", "checkout"]) {
        // One server of its own: every add and checkout costs it commands (the rate limiter's at least).
        const [single, ...others] = phase("redis", name).redisNodes;
        expect(others).toEqual([]);
        expect(single?.role).toBe("standalone");
        expect(single?.commands).toBeGreaterThanOrEqual(phase("redis", name).requests);

        // Six servers; per-client keys spread the load over all three primaries (the queues' keys sit on one or two).
        const clustered = phase("redis-cluster", name);
        const nodes = clustered.redisNodes;
        expect(nodes.map((n) => n.role).sort()).toEqual([
          "primary",
          "primary",
          "primary",
          "replica",
          "replica",
          "replica",
        ]);
        const primaries = nodes.filter((n) => n.role === "primary");
        const served = primaries.reduce((s, n) => s + n.commands, 0);
        expect(served).toBeGreaterThanOrEqual(clustered.requests);
        for (const n of primaries) {
          expect(n.opsPerSecond, `${name} ${n.node}`).toBeGreaterThan(0);
          // Each request costs its client's rate-limit counter a command, in the client's slot: a third of them here.
          expect(n.commands, `${name} ${n.node}: ${JSON.stringify(nodes)}`).toBeGreaterThanOrEqual(
            clustered.requests / 6,
          );
        }
        // Their CPU is measured (a replica applying the stream spends some too).
        expect(nodes.every((n) => n.cpuPercent >= 0)).toBe(true);
        expect(primaries.reduce((s, n) => s + n.cpuPercent, 0)).toBeGreaterThan(0);
      }
    },
  );
});
