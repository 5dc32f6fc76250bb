/**
 * The chaos suite's short form: one flash sale through the real API and three worker
 * processes while workers die (at random and at saga steps) or freeze past their job
 * lock, Redis restarts empty, the run's own MariaDB crashes, MySQL becomes unreachable
 * and jobs are delivered twice; every told order must end within 30 s of the last fault.
 * `npm run chaos` is the full form. CHAOS_SEED replays a seed.
 */
import { describe, expect, it } from "vitest";
import { randomSeed } from "./chaos/prng";
import { formatReport } from "./chaos/report";
import { runChaos } from "./chaos/scenario";

describe("chaos (short form)", () => {
  it("keeps every invariant and the 30 s bound through kills, a freeze, Redis and MySQL faults", async () => {
    const seed = process.env.CHAOS_SEED ? Number(process.env.CHAOS_SEED) : randomSeed();
    const report = await runChaos({ seed, short: true, log: () => undefined });
    const text = formatReport(report);
    console.log(text);
    expect(report.violationCount, text).toBe(0);
  }, 240_000);
});
