/**
 * `npm run chaos -- [--seed N] [--runs N] [--short] [--cluster] [--keep-logs]`
 *
 * Runs the chaos scenario `--runs` times (default 1). Each run's seed is printed;
 * `--seed N` replays it (with several runs, the seeds are N, N+1, ...). `--cluster`
 * runs on a six-node Redis Cluster of its own, with a primary killed and a node
 * restarted empty, instead of one redis-server restarted empty. Exits non-zero when any
 * run violated an invariant or could not run.
 */
import { parseArgs } from "node:util";
import { randomSeed } from "./prng";
import { formatReport, type ChaosReport } from "./report";
import { runChaos } from "./scenario";
import { errorMessage } from "@oms/shared";

const { values } = parseArgs({
  options: {
    seed: { type: "string" },
    runs: { type: "string", default: "1" },
    short: { type: "boolean", default: false },
    cluster: { type: "boolean", default: false },
    "keep-logs": { type: "boolean", default: false },
  },
});

const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) {
  console.error(`--runs must be a positive integer (got ${values.runs})`);
  process.exit(2);
}
const firstSeed = values.seed === undefined ? undefined : Number(values.seed);
if (firstSeed !== undefined && (!Number.isInteger(firstSeed) || firstSeed < 0 || firstSeed > 0xffffffff)) {
  console.error(`--seed must be an integer from 0 to 4294967295 (got ${values.seed})`);
  process.exit(2);
}

// Interrupted: exit through process.exit so each run's exit hook kills what it started.
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => process.exit(130));

const summary: Array<{ seed: number; outcome: string }> = [];
let failed = 0;
for (let i = 0; i < runs; i++) {
  const seed = firstSeed === undefined ? randomSeed() : (firstSeed + i) >>> 0;
  let report: ChaosReport | undefined;
  try {
    report = await runChaos({ seed, short: values.short, cluster: values.cluster, keepLogs: values["keep-logs"] });
  } catch (err) {
    failed++;
    summary.push({ seed, outcome: `harness error: ${errorMessage(err)}` });
    console.error(`chaos run with seed ${seed} could not run: ${err instanceof Error ? err.stack : String(err)}`);
    continue;
  }
  console.log(formatReport(report));
  console.log("");
  if (report.violationCount) failed++;
  summary.push({
    seed,
    outcome: report.violationCount ? `${report.violationCount} violations` : "passed",
  });
}

console.log(
  `chaos (${values.short ? "short" : "full"}${values.cluster ? ", Redis Cluster" : ""}): ${runs - failed} of ${runs} runs passed`,
);
for (const s of summary) console.log(`  seed ${s.seed}: ${s.outcome}`);
process.exit(failed ? 1 : 0);
