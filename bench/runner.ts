/**
 * The benchmark: every scenario against every design (fresh processes, database and
 * key prefix per run, scenarios interleaved across designs so they share the machine's
 * noise), then the ceilings, the horizontal-scale runs, the soak and the report.
 */
import { existsSync, readFileSync } from "node:fs";
import { cpus, totalmem, release, type } from "node:os";
import { Cluster } from "ioredis";
import { luaCeiling, mysqlCeiling } from "./ceilings";
import type { BenchOptions } from "./options";
import { infraPids, type InfraPids } from "./processes";
import { Progress } from "./progress";
import { consoleReport, writeReport } from "./report";
import { runScale } from "./scale";
import { SCENARIOS } from "./scenarios";
import { runSession } from "./session";
import { runSoak } from "./soak";
import { loadAverage, round } from "./stats";
import { DESIGN_LABELS, onCluster } from "./system";
import { evaluateTargets, phaseOf } from "./targets";
import type { BenchResult, DesignId, MachineInfo, ScenarioId, ScenarioRun } from "./types";
import { createWorld, destroyWorld, type World } from "./world";

export interface RunOptions {
  /** Print the table at the end (the CLI does; the test does not need to). */
  print?: boolean;
  /** Write JSON, markdown and SVG (default true). */
  write?: boolean;
}

/**
 * Which scenarios a design runs: the limiter-off variant only where the limiter is on the
 * hot path; the Cluster on the one hot product and on the wide catalog.
 */
function runsFor(design: DesignId, scenario: ScenarioId): boolean {
  if (design === "redis-nolimit") return scenario === "flash-sale";
  return !onCluster(design) || scenario === "flash-sale" || scenario === "wide-catalog";
}

async function machineInfo(world: World): Promise<MachineInfo> {
  const cpuinfo = existsSync("/proc/cpuinfo") ? readFileSync("/proc/cpuinfo", "utf8") : "";
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? cpus()[0]?.model ?? "?";
  const redisInfo = await world.redis.info("server");
  const [rows] = (await world.db.raw("SELECT VERSION() AS v")) as [Array<{ v: string }>];
  return {
    nproc: cpus().length,
    cpuModel: model,
    memoryGb: round(totalmem() / 1024 ** 3, 1),
    node: process.version,
    os: `${type()} ${release()}`,
    redisVersion: /redis_version:(\S+)/.exec(redisInfo)?.[1] ?? "?",
    mysqlVersion: rows[0]?.v ?? "?",
    loadAverageStart: loadAverage(),
    loadAverageEnd: "",
    startedAt: new Date().toISOString(),
    finishedAt: "",
  };
}

/** The scenarios against one design, as the results report them. */
async function runDesign(
  opts: BenchOptions,
  infra: InfraPids,
  design: DesignId,
  ids: ScenarioId[],
  log: Progress,
): Promise<ScenarioRun[]> {
  const checked = await runSession(
    opts,
    infra,
    design,
    ids.map((id) => SCENARIOS[id]),
    log,
  );
  return checked.flatMap(({ seeded, output, checks, startupSeconds, writeBatches }, i) => {
    const scenario = ids[i];
    if (!scenario) return [];
    const { phases, soldOut } = output;
    const extra = { ...(soldOut && { soldOut }), ...(writeBatches && { writeBatches }) };
    return [
      { scenario, design, params: seeded.params, phases, checks, startupSeconds: round(startupSeconds, 1), ...extra },
    ];
  });
}

export async function runBenchmark(opts: BenchOptions, runOptions: RunOptions = {}): Promise<BenchResult> {
  const progress = new Progress(opts.progress);
  const probe = await createWorld();
  let machine: MachineInfo;
  let infra: InfraPids;
  try {
    machine = await machineInfo(probe);
    if (probe.redis instanceof Cluster) throw new Error("the probe world runs on one redis-server");
    infra = await infraPids(probe.redis, probe.db);
  } finally {
    await destroyWorld(probe);
  }
  progress.log(
    `bench (${opts.form}): ${machine.nproc} x ${machine.cpuModel}, ${machine.memoryGb} GB, node ${machine.node}; load average ${machine.loadAverageStart}`,
  );
  progress.log(
    `designs: ${opts.designs.map((d) => DESIGN_LABELS[d]).join(", ")}; ${opts.workerProcesses} worker process(es); ${opts.concurrency} concurrent clients; PAYMENT_SIM_LATENCY_MS=${opts.paymentLatencyMs}`,
  );
  const runs: ScenarioRun[] = [];
  if (opts.isolate === "scenario") {
    // Fresh processes, database and prefix per scenario run, so VmHWM is the scenario's.
    for (const scenarioId of opts.scenarios) {
      for (const design of opts.designs.filter((d) => runsFor(d, scenarioId))) {
        progress.log(`\n${scenarioId} / ${DESIGN_LABELS[design]}`);
        runs.push(...(await runDesign(opts, infra, design, [scenarioId], progress)));
      }
    }
  } else {
    const runOne = (design: DesignId, log: Progress) => {
      const ids = opts.scenarios.filter((s) => runsFor(design, s));
      log.log(`${DESIGN_LABELS[design]}: ${ids.join(", ")}`);
      return runDesign(opts, infra, design, ids, log);
    };
    // Side by side (speed figures are then meaningless; the quick form checks correctness).
    runs.push(...(await Promise.all(opts.designs.map((d) => runOne(d, new Progress(opts.progress, false))))).flat());
  }

  const ceilings = [];
  if (opts.ceilings) {
    progress.log("\nceilings: each design's bottleneck alone");
    for (const lines of [1, 3]) {
      ceilings.push(await luaCeiling(opts.ceilings, lines, progress));
      ceilings.push(await mysqlCeiling(opts.ceilings, lines, infra.mysql, opts.form === "quick", progress));
    }
  }

  // The scale and soak runs offer a fixed share of what the redis design reached on the wide catalog.
  const wide = phaseOf(runs, "wide-catalog", "redis", "checkout");
  const capacity = wide?.ordersCompleted?.perSecond ?? wide?.okPerSecond ?? 100;
  let scale: BenchResult["scale"] = [];
  if (opts.scale) {
    progress.log("\nhorizontal scale of the API");
    scale = await runScale(opts, infra, progress, opts.scale.rate ?? Math.max(20, round(capacity * 0.5, 0)));
  }
  let soak: BenchResult["soak"] = null;
  if (opts.soak) {
    progress.log("\nmemory soak");
    // A session is 1-3 adds and a checkout; offer about a quarter of the checkout capacity.
    soak = await runSoak(
      opts,
      infra,
      progress,
      opts.soak.sessionsPerSecond ?? Math.min(150, Math.max(10, round(capacity * 0.25, 0))),
    );
  }

  machine.loadAverageEnd = loadAverage();
  machine.finishedAt = new Date().toISOString();
  const settings: BenchResult["settings"] = {
    form: opts.form,
    designs: opts.designs.join(","),
    scenarios: opts.scenarios.join(","),
    concurrency: opts.concurrency,
    "worker processes": opts.workerProcesses,
    "API processes": 1,
    "WORKER_CONCURRENCY_CART / _CHECKOUT": "50 / 50 (defaults)",
    PAYMENT_SIM_LATENCY_MS: opts.paymentLatencyMs,
    RATE_LIMIT_PER_MINUTE: `${opts.rateLimitPerMinute} (redis-nolimit: 0)`,
    CHECKOUT_TIMEOUT_MS: "8000 (default)",
    Redis:
      "the benchmark's own per scenario run, no persistence: one redis-server, or (redis-cluster) a Cluster of 3 primaries with a replica each and INVENTORY_SHARDS=3",
    isolation:
      opts.isolate === "scenario" ? "fresh processes, database and prefix per scenario run" : "one system per design",
    "load generator": "undici Pool, keep-alive, one request in flight per connection, connections = clients",
  };
  const result: BenchResult = {
    form: opts.form,
    machine,
    settings,
    runs,
    ceilings,
    scale,
    soak,
    targets: evaluateTargets(runs, opts.concurrency),
    correctnessOk: runs.every((r) => r.checks.ok) && (soak?.checks.ok ?? true) && scale.every((s) => s.checksOk),
  };
  if (runOptions.write !== false) {
    const files = await writeReport(result, opts.outDir);
    progress.log(`\nwrote ${files.join(", ")}`);
  }
  if (runOptions.print) console.log(consoleReport(result));
  return result;
}
