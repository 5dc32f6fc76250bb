/**
 * The benchmark: every scenario against every design (fresh processes, database and
 * key prefix per run, scenarios interleaved across designs so they share the machine's
 * noise), then the ceilings, the horizontal-scale runs, the soak and the report.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { cpus, totalmem, release, type } from "node:os";
import { join } from "node:path";
import { checkCorrectness } from "./checks";
import { luaCeiling, mysqlCeiling } from "./ceilings";
import type { BenchOptions } from "./options";
import type { TimeWindow } from "./phase";
import { infraPids, type InfraPids } from "./processes";
import { summarizeProfile } from "./profile";
import { Progress } from "./progress";
import { consoleReport, writeReport } from "./report";
import { runScale } from "./scale";
import { SCENARIOS, type Scenario, type Seeded } from "./scenarios";
import { runSoak } from "./soak";
import { round } from "./stats";
import { DESIGN_LABELS, startSystem, type System } from "./system";
import { evaluateTargets, findRun, phaseOf } from "./targets";
import type { BenchResult, DesignId, MachineInfo, ProfileSummary, ScenarioId, ScenarioRun } from "./types";
import { World } from "./world";
import { scrapeWriteBatches } from "./batches";

export interface RunOptions {
  /** Print the table at the end (the CLI does; the test does not need to). */
  print?: boolean;
  /** Write JSON, markdown and SVG (default true). */
  write?: boolean;
}

/** Which scenarios a design runs: the limiter-off variant only where the limiter is on the hot path. */
function runsFor(design: DesignId, scenario: ScenarioId): boolean {
  return design !== "redis-nolimit" || scenario === "flash-sale";
}

function loadAverage(): string {
  try {
    return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  } catch {
    return "?";
  }
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

interface Prepared {
  scenario: Scenario;
  seeded: Seeded;
}

export async function runBenchmark(opts: BenchOptions, runOptions: RunOptions = {}): Promise<BenchResult> {
  const progress = new Progress(opts.progress);
  const probe = await World.create();
  let machine: MachineInfo;
  let infra: InfraPids;
  try {
    machine = await machineInfo(probe);
    infra = await infraPids(probe.redis, probe.db);
  } finally {
    await probe.destroy();
  }
  progress.log(
    `bench (${opts.form}): ${machine.nproc} x ${machine.cpuModel}, ${machine.memoryGb} GB, node ${machine.node}; load average ${machine.loadAverageStart}`,
  );
  progress.log(
    `designs: ${opts.designs.map((d) => DESIGN_LABELS[d]).join(", ")}; ${opts.workerProcesses} worker process(es); ${opts.concurrency} concurrent clients; PAYMENT_SIM_LATENCY_MS=${opts.paymentLatencyMs}`,
  );
  const profileDir = join(opts.outDir, "tmp", "profile");
  const runs: ScenarioRun[] = [];
  const profile: ProfileSummary[] = [];

  const runOne = async (
    system: System,
    world: World,
    design: DesignId,
    p: Prepared,
    startupSeconds: number,
    log: Progress,
    windows?: TimeWindow[],
  ): Promise<ScenarioRun> => {
    const label = `${p.scenario.id}/${design}`;
    system.phase.windows = windows;
    const output = await p.scenario.run({
      world,
      design,
      pools: system.pools,
      phase: system.phase,
      opts,
      progress: log,
      label,
    });
    system.phase.windows = undefined;
    const checks = await checkCorrectness(world, {
      design,
      initialStock: p.seeded.initialStock,
      checkoutAnswers: output.checkoutAnswers,
      productPrefix: p.seeded.productPrefix,
      expectedCartRows: output.expectedCartRows,
      timeoutMs: opts.checkTimeoutMs,
    });
    log.log(
      `  ${label} checks: oversold ${checks.oversoldUnits}, conservation ${checks.conservation}, Redis=MySQL ${checks.redisMatchesMysql ?? "n/a"}, completed ${checks.completedOrders}${checks.ok ? "" : `; VIOLATIONS: ${checks.violations.join("; ")}`}`,
    );
    return {
      scenario: p.scenario.id,
      design,
      params: p.seeded.params,
      phases: output.phases,
      checks,
      ...(output.soldOut ? { soldOut: output.soldOut } : {}),
      startupSeconds: round(startupSeconds, 1),
    };
  };

  if (opts.isolate === "scenario") {
    /** One scenario against one design in a world and processes of its own. */
    const runIsolated = async (scenarioId: ScenarioId, design: DesignId, profiled: boolean): Promise<ScenarioRun> => {
      const scenario = SCENARIOS[scenarioId];
      const world = await World.create();
      try {
        const seeded = await scenario.seed(world, opts, design);
        if (profiled) {
          rmSync(profileDir, { recursive: true, force: true });
          mkdirSync(profileDir, { recursive: true });
        }
        const system = await startSystem(world, design, opts, infra, {
          apiNodeArgs: profiled ? ["--cpu-prof", "--cpu-prof-dir", profileDir] : undefined,
        });
        const windows: TimeWindow[] = [];
        let run: ScenarioRun;
        try {
          run = await runOne(
            system,
            world,
            design,
            { scenario, seeded },
            system.stack.startupSeconds,
            progress,
            windows,
          );
          const batches = await scrapeWriteBatches(system.stack.workerMetricsUrls);
          if (batches) run.writeBatches = batches;
        } finally {
          await system.stop();
        }
        if (profiled) profile.push(...summarizeProfiles(profileDir, windows, progress));
        return run;
      } finally {
        await world.destroy();
      }
    };
    for (const scenarioId of opts.scenarios) {
      for (const design of opts.designs) {
        if (!runsFor(design, scenarioId)) continue;
        progress.log(`\n${scenarioId} / ${DESIGN_LABELS[design]}`);
        runs.push(await runIsolated(scenarioId, design, false));
        // The profiler slows the API down: profile a repeat of the run, and report the
        // figures of the run without it.
        if (opts.profile && scenarioId === "flash-sale" && design === "redis") {
          progress.log(
            `\n${scenarioId} / ${DESIGN_LABELS[design]} again, with the API profiled (figures not reported)`,
          );
          const repeat = await runIsolated(scenarioId, design, true);
          if (!repeat.checks.ok) runs.push(repeat);
        }
      }
    }
  } else {
    const runDesign = async (design: DesignId, log: Progress): Promise<ScenarioRun[]> => {
      const scenarios = opts.scenarios.filter((s) => runsFor(design, s)).map((s) => SCENARIOS[s]);
      log.log(`${DESIGN_LABELS[design]}: ${scenarios.map((s) => s.id).join(", ")}`);
      const world = await World.create();
      const out: ScenarioRun[] = [];
      try {
        const prepared: Prepared[] = [];
        for (const scenario of scenarios) prepared.push({ scenario, seeded: await scenario.seed(world, opts, design) });
        const system = await startSystem(world, design, opts, infra);
        try {
          for (const p of prepared) out.push(await runOne(system, world, design, p, system.stack.startupSeconds, log));
        } finally {
          await system.stop();
        }
      } finally {
        await world.destroy();
      }
      return out;
    };
    if (opts.parallelDesigns) {
      // Side by side (speed figures are then meaningless; the quick form checks correctness).
      const all = await Promise.all(opts.designs.map((d) => runDesign(d, new Progress(opts.progress, false))));
      runs.push(...all.flat());
    } else {
      for (const design of opts.designs) runs.push(...(await runDesign(design, progress)));
    }
  }

  const ceilings = [];
  if (opts.ceilings) {
    progress.log("\nceilings: each design's bottleneck alone");
    for (const lines of [1, 3]) {
      ceilings.push(await luaCeiling(opts, lines, infra.redis, progress));
      ceilings.push(await mysqlCeiling(opts, lines, infra.mysql, progress));
    }
  }

  // The scale and soak runs offer a fixed share of what the redis design reached on the wide catalog.
  const wide = phaseOf(findRun(runs, "wide-catalog", "redis"), "checkout");
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
    isolation:
      opts.isolate === "scenario" ? "fresh processes, database and prefix per scenario run" : "one system per design",
    "load generator": "undici Pool, keep-alive, one request in flight per connection, connections = clients",
  };
  const partial = { runs, settings };
  const result: BenchResult = {
    form: opts.form,
    machine,
    settings,
    runs,
    ceilings,
    scale,
    soak,
    profile,
    targets: evaluateTargets(partial),
    correctnessOk: runs.every((r) => r.checks.ok) && (soak?.checks.ok ?? true) && scale.every((s) => s.checksOk),
  };
  if (runOptions.write !== false) {
    const files = await writeReport(result, opts.outDir);
    progress.log(`\nwrote ${files.join(", ")}`);
  }
  if (runOptions.print) console.log(consoleReport(result));
  return result;
}

function summarizeProfiles(dir: string, windows: TimeWindow[], progress: Progress): ProfileSummary[] {
  const files = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith(".cpuprofile"))
        .map((f) => join(dir, f))
        .sort((a, b) => statSync(b).size - statSync(a).size)
    : [];
  const file = files[0];
  if (!file) {
    progress.log("  no CPU profile was written by the API");
    return [];
  }
  const byPhase = (suffix: string) => windows.filter((w) => w.name.endsWith(` ${suffix}`));
  const out: ProfileSummary[] = [];
  for (const [label, list] of [
    ["flash sale, add-to-cart phase", byPhase("add")],
    ["flash sale, checkout phase", byPhase("checkout")],
    ["sold-out checkouts (fast path)", byPhase("sold-out")],
  ] as const) {
    if (list.length) out.push(summarizeProfile(file, list, label));
  }
  return out;
}
