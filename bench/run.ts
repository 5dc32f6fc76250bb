/**
 * `npm run bench`: writes results.json, summary.md and the charts, and prints summary.md.
 * Exits non-zero when a correctness check failed (not when a speed target is missed).
 */
import { readFileSync } from "node:fs";
import { dirname } from "node:path";
import { parseCommandLine } from "./options";
import { stopAllServices } from "./processes";
import { writeReport } from "./report";
import { runBenchmark } from "./runner";
import { BenchResult } from "./types";
import { destroyAllWorlds } from "./world";

const cleanUp = () => stopAllServices().then(destroyAllWorlds);

async function main(): Promise<void> {
  const { opts, render } = parseCommandLine(process.argv.slice(2));
  if (render) {
    // Re-renders summary.md and the charts of an earlier run; its results.json stays as it was measured.
    const result = BenchResult.parse(JSON.parse(readFileSync(render, "utf8")));
    console.log((await writeReport(result, dirname(render), false)).join("\n"));
    return;
  }
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    console.error("\ninterrupted: removing this run's databases and keys (again to quit at once)");
    void cleanUp().finally(() => process.exit(130));
  };
  process.on("SIGINT", onSignal).on("SIGTERM", onSignal);
  process.exitCode = (await runBenchmark(opts, { print: true })).correctnessOk ? 0 : 1;
}

main().catch(async (err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  await cleanUp();
  process.exit(1);
});
