/**
 * The chaos suite's short form: one flash sale through the real API and three worker
 * processes while workers die (at random and at saga steps), Redis restarts empty,
 * MySQL becomes unreachable and jobs are delivered twice. `npm run chaos` is the full
 * form. CHAOS_SEED replays a seed.
 */
import { describe, expect, it } from "vitest";
import { randomSeed } from "./chaos/prng";
import { formatReport } from "./chaos/report";
import { runChaos } from "./chaos/scenario";

describe("chaos (short form)", () => {
  it("keeps every invariant through worker kills, a Redis restart, a MySQL cut and re-delivered jobs", async () => {
    const seed = process.env.CHAOS_SEED ? Number(process.env.CHAOS_SEED) : randomSeed();
    const report = await runChaos({ seed, short: true, log: () => undefined });
    const text = formatReport(report);
    console.log(text);
    expect(report.violationCount, text).toBe(0);
  }, 240_000);
});
