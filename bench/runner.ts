/**
 * The benchmark: every scenario against every design (fresh processes, database and
 * key prefix per run, scenarios interleaved across designs so they share the machine's
 * noise), then the ceilings, the horizontal-scale runs, the soak and the report.
 */
import { z } from "zod";
import { rawRows } from "@oms/shared";
import { cpus, loadavg, release, totalmem, type } from "node:os";
import { luaCeiling, mysqlCeiling } from "./ceilings";
import type { BenchOptions } from "./options";
import { mysqlPid } from "./processes";
import { Progress } from "./load";
import { summary, writeReport } from "./report";
import { SCENARIOS } from "./scenarios";
import { runScale, runSoak } from "./steady";
import { readText, round } from "./stats";
import { designLabel, onCluster, runSession, type Bench } from "./system";
import { evaluateTargets, phaseOf } from "./targets";
import { ScenarioId, type BenchResult, type DesignId, type ScenarioRun } from "./types";
import { createWorld, destroyWorld, type World } from "./world";

/**
 * Which scenarios a design runs: the limiter-off variant only where the limiter is on the
 * hot path; the Cluster on the one hot product and on the wide catalog.
 */
function runsFor(design: DesignId, scenario: ScenarioId): boolean {
  if (design === "redis-nolimit") return scenario === "flash-sale";
  return !onCluster(design) || scenario === "flash-sale" || scenario === "wide-catalog";
}

/** The machine's 1-, 5- and 15-minute load averages, as /proc/loadavg prints them. */
const loadAverage = () => Array.from(loadavg(), (l) => l.toFixed(2)).join(" ");

async function machineInfo(world: World): Promise<BenchResult["machine"]> {
  const cpuinfo = readText("/proc/cpuinfo");
  const [version] = rawRows(z.object({ v: z.string() }), await world.db.raw("SELECT VERSION() AS v"));
  return {
    nproc: cpus().length,
    cpuModel: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? cpus()[0]?.model ?? "?",
    ...{ memoryGb: round(totalmem() / 1024 ** 3, 1), node: process.version, os: `${type()} ${release()}` },
    redisVersion: /redis_version:(\S+)/.exec(await world.redis.info("server"))?.[1] ?? "?",
    mysqlVersion: version?.v ?? "?",
    ...{ loadAverageStart: loadAverage(), loadAverageEnd: "", startedAt: new Date().toISOString(), finishedAt: "" },
  };
}

/** The scenarios against one design, as the results report them. */
async function runDesign(bench: Bench, design: DesignId, ids: ScenarioId[]): Promise<ScenarioRun[]> {
  const [label, list] = [designLabel(design), ids.join(", ")];
  bench.progress.log(bench.opts.isolate === "scenario" ? `\n${list} / ${label}` : `${label}: ${list}`);
  const scenarios = ids.map((id) => SCENARIOS[id]);
  const checked = await runSession(bench, design, scenarios);
  return checked.map(({ id, seeded, output, checks, startupSeconds, writeBatches }) => {
    const extra = { ...(output.soldOut && { soldOut: output.soldOut }), ...(writeBatches && { writeBatches }) };
    const params = { ...seeded.params, concurrency: bench.opts.concurrency };
    const figures = { params, phases: output.phases, checks, startupSeconds: round(startupSeconds, 1) };
    return { scenario: ScenarioId.parse(id), design, ...figures, ...extra };
  });
}

/** Runs the benchmark; `write`: JSON, markdown and SVG; `print`: the tables at the end (the CLI does). */
export async function runBenchmark(opts: BenchOptions, { print = false, write = true } = {}): Promise<BenchResult> {
  const progress = new Progress(opts.progress ? "live" : "off");
  const probe = await createWorld();
  const [machine, bench] = await Promise.all([
    machineInfo(probe),
    mysqlPid(probe.db).then((pid): Bench => ({ opts, mysqlPid: pid, progress })),
  ]).finally(() => destroyWorld(probe));
  const { nproc, cpuModel, memoryGb, node } = machine;
  progress.log(
    `bench (${opts.form}): ${nproc} x ${cpuModel}, ${memoryGb} GB, node ${node}; load average ${machine.loadAverageStart}\ndesigns: ${opts.designs.map(designLabel).join(", ")}; ${opts.workerProcesses} worker process(es); ${opts.concurrency} concurrent clients; PAYMENT_SIM_LATENCY_MS=${opts.paymentLatencyMs}`,
  );
  const runs: ScenarioRun[] = [];
  const scenariosOf = (d: DesignId) => opts.scenarios.filter((s) => runsFor(d, s));
  if (opts.isolate === "scenario") {
    // Fresh processes, database and prefix per scenario run, so VmHWM is the scenario's.
    for (const id of opts.scenarios)
      for (const d of opts.designs) if (runsFor(d, id)) runs.push(...(await runDesign(bench, d, [id])));
  } else {
    // Side by side (speed figures are then meaningless; the quick form checks correctness).
    const quiet = () => ({ ...bench, progress: new Progress(opts.progress ? "lines" : "off") });
    runs.push(...(await Promise.all(opts.designs.map((d) => runDesign(quiet(), d, scenariosOf(d))))).flat());
  }

  const ceilings = [];
  if (opts.ceilings) {
    progress.log("\nceilings: each design's bottleneck alone");
    for (const n of [1, 3])
      ceilings.push(await luaCeiling(bench, opts.ceilings, n), await mysqlCeiling(bench, opts.ceilings, n));
  }
  // The scale and soak runs offer a fixed share of what the redis design reached on the wide catalog.
  const wide = phaseOf(runs, "wide-catalog", "redis", "checkout");
  const capacity = wide?.ordersCompleted?.perSecond ?? wide?.okPerSecond ?? 100;
  const scale = opts.scale ? await runScale(bench, opts.scale, Math.max(20, round(capacity * 0.5, 0))) : [];
  // A session is 1-3 adds and a checkout; offer about a quarter of the checkout capacity.
  const sessions = opts.soak?.sessionsPerSecond ?? Math.min(150, Math.max(10, round(capacity * 0.25, 0)));
  const soak = opts.soak ? await runSoak(bench, opts.soak, sessions) : null;

  Object.assign(machine, { loadAverageEnd: loadAverage(), finishedAt: new Date().toISOString() });
  const settings = {
    ...{ form: opts.form, designs: opts.designs.join(","), scenarios: opts.scenarios.join(",") },
    ...{ concurrency: opts.concurrency, "worker processes": opts.workerProcesses, "API processes": 1 },
    ...{ "WORKER_CONCURRENCY_CART / _CHECKOUT": "50 / 50 (defaults)", PAYMENT_SIM_LATENCY_MS: opts.paymentLatencyMs },
    RATE_LIMIT_PER_MINUTE: `${opts.rateLimitPerMinute} (redis-nolimit: 0)`,
    CHECKOUT_TIMEOUT_MS: "8000 (default)",
    Redis:
      "the benchmark's own per scenario run, no persistence: one redis-server, or (redis-cluster) a Cluster of 3 primaries with a replica each and INVENTORY_SHARDS=3",
    isolation:
      opts.isolate === "scenario" ? "fresh processes, database and prefix per scenario run" : "one system per design",
    "load generator": "undici Pool, keep-alive, one request in flight per connection, connections = clients",
  };
  const correctnessOk = runs.every((r) => r.checks.ok) && (soak?.checks.ok ?? true) && scale.every((s) => s.checksOk);
  const targets = evaluateTargets(runs, opts.concurrency);
  const result = { form: opts.form, machine, settings, runs, ceilings, scale, soak, targets, correctnessOk };
  if (write) progress.log(`\nwrote ${(await writeReport(result, opts.outDir)).join(", ")}`);
  if (print) console.log(await summary(result));
  return result;
}
