/**
 * One chaos run: a flash sale through the real HTTP API, served by three worker
 * processes, while workers are SIGKILLed (at random and at each saga step), Redis
 * restarts empty, MySQL becomes unreachable and jobs are delivered twice. Then the
 * system is left to settle and the invariants are checked.
 *
 * Everything it starts is its own (system.ts); the shared Redis and MariaDB are never
 * stopped or flushed. This module runs the phases in order and times them.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BULK, Catalog } from "./catalog";
import { FaultInjector } from "./fault-injection";
import { sleep } from "./infra";
import { checkInvariants } from "./invariants";
import { Operator } from "./lifecycle";
import { Random } from "./prng";
import { Redelivery } from "./redelivery";
import type { ChaosReport } from "./report";
import { assembleReport, saveReport } from "./report-assembly";
import { describeJob, flushAll, reconcile, waitForQuiescence } from "./settle";
import { FULL, SHORT, type Shape } from "./shape";
import { ChaosSystem } from "./system";
import { Timeline } from "./timeline";
import { WorkerFaults } from "./worker-faults";
import { WorkerPool } from "./worker-pool";
import { Workload, planShoppers } from "./workload";

export interface ChaosOptions {
  seed: number;
  short: boolean;
  /** On a six-node Redis Cluster with failovers instead of one redis-server. */
  cluster?: boolean;
  /** Where logs go (a folder per run is made under it). Default: $TMPDIR/oms-chaos. */
  logRoot?: string;
  /** Keep the run's logs even when it passes. */
  keepLogs?: boolean;
  /** Progress lines; default console.log. */
  log?: (line: string) => void;
}

/** Runs one chaos scenario end to end and reports; throws only when the harness itself cannot run. */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const run = new ChaosRun(options);
  try {
    return await run.execute();
  } finally {
    await run.cleanup();
  }
}

class ChaosRun {
  private readonly shape: Shape;
  private readonly rng: Random;
  private readonly id: string;
  private readonly logDir: string;
  private readonly log: (line: string) => void;
  private readonly timeline: Timeline;
  private readonly system: ChaosSystem;
  private readonly pool: WorkerPool;
  private readonly workerFaults: WorkerFaults;
  private readonly redelivery: Redelivery;
  private passed = false;
  private readonly exitHandler = () => this.system.killNow();

  constructor(private readonly options: ChaosOptions) {
    this.shape = options.short ? SHORT : FULL;
    this.rng = new Random(options.seed);
    const salt = Math.floor(Math.random() * 0xffffff)
      .toString(16)
      .padStart(6, "0");
    this.id = `${options.seed}_${salt}`;
    this.logDir = join(
      options.logRoot ?? join(tmpdir(), "oms-chaos"),
      `${options.short ? "short" : "full"}${options.cluster ? "-cluster" : ""}-${this.id}`,
    );
    this.log = options.log ?? ((line) => console.log(line));
    this.timeline = new Timeline(this.logDir);
    this.system = new ChaosSystem(
      {
        id: this.id,
        cluster: options.cluster ?? false,
        logDir: this.logDir,
        adminToken: `chaos-admin-${this.rng.fork("admin").hex(24)}`,
      },
      this.timeline,
    );
    this.pool = new WorkerPool(this.system, this.timeline, this.rng, this.shape.steps);
    this.workerFaults = new WorkerFaults(this.system, this.pool, this.timeline);
    this.redelivery = new Redelivery(this.system, this.timeline, this.rng);
    process.once("exit", this.exitHandler);
  }

  async execute(): Promise<ChaosReport> {
    const { options, shape, system, timeline } = this;
    const form = options.short ? "short" : "full";
    mkdirSync(this.logDir, { recursive: true });
    this.log(
      `chaos ${form} run${options.cluster ? " on a Redis Cluster" : ""}, seed ${options.seed}: logs in ${this.logDir}`,
    );
    const timings: Record<string, number> = {};
    let mark = Date.now();
    const lap = (name: string) => {
      timings[name] = Date.now() - mark;
      mark = Date.now();
    };

    await system.start();
    const http = system.http;
    if (!http) throw new Error("no HTTP client");
    const catalog = new Catalog(http, system.adminToken, options.seed, timeline);
    await catalog.create(shape);
    await this.pool.start();
    lap("setupMs");
    this.log(`  set up in ${(timings.setupMs ?? 0) / 1000}s (${system.describe()})`);

    const workload = new Workload(http, this.rng, shape, timeline.t0);
    const plans = planShoppers(this.rng, shape, shape.clients, "shopper");
    const injector = new FaultInjector(system, timeline, this.workerFaults, this.redelivery, catalog);
    const faults = injector.plan(shape, this.rng);
    writeFileSync(join(this.logDir, "plan.json"), JSON.stringify({ seed: options.seed, faults, plans }, null, 2));

    timeline.loadStart = Date.now();
    timeline.event(`load starts: ${plans.length} shoppers, ${faults.length} faults scheduled`);
    const faultRun = injector.run(faults);
    const operator = new Operator(
      http,
      () => system.db(),
      system.adminToken,
      this.rng.fork("operator"),
      `chaos-op-${this.id}`,
    );
    const operating = operator.run(shape.operatorEveryMs);
    await workload.run(plans);
    await faultRun;
    operator.stop();
    await operating;
    lap("loadMs");
    this.log(`  load done in ${(timings.loadMs ?? 0) / 1000}s; faults: ${JSON.stringify(timeline.faults)}`);

    await this.coverRemainingSteps(catalog, workload);
    // Finished checkouts delivered once more, after the load: their replays must change nothing.
    await this.redelivery.redeliver(shape.redeliveriesPerBatch, "completed", 10_000);
    lap("topUpMs");

    await Promise.race([this.pool.respawns(), sleep(60_000)]);
    const quiet = await waitForQuiescence(system, timeline, shape.quiescenceMs);
    lap("quiescenceMs");
    const flushed = await flushAll(system);
    const repairs = await reconcile(system, timeline);
    lap("flushReconcileMs");

    const invariants = await checkInvariants(
      system.db(),
      system.redis(),
      system.keys,
      catalog.products,
      workload.records,
      [...workload.cancels, ...operator.actions],
      { t0: timeline.t0, faults: timeline.faultWindows },
      (id) => describeJob(system, id),
    );
    const redisChecks = await injector.redisChecks();
    lap("checksMs");
    const faultChecks = this.workerFaults.checks();
    timeline.noteStallRecovery(system.env());
    timings.totalMs = Date.now() - timeline.t0;
    const report = assembleReport({
      seed: options.seed,
      form,
      redis: options.cluster ? "cluster" : "single",
      logDir: this.logDir,
      timings,
      faults: { ...timeline.faults },
      shoppers: workload.figures(operator.actions),
      invariants,
      notes: timeline.notes,
      reconcileRepairs: repairs,
      quiet,
      flushed,
      faultChecks,
      redisChecks,
    });
    saveReport(report, workload.records);
    this.passed = report.violationCount === 0;
    return report;
  }

  /**
   * Steps whose armed worker never reached its step during the load: arm a worker for
   * each, and send a few more shoppers until it has crashed there (bounded).
   */
  private async coverRemainingSteps(catalog: Catalog, workload: Workload): Promise<void> {
    const { pool, timeline } = this;
    for (let round = 0; round < 4 && pool.uncrashedSteps().length; round++) {
      await pool.respawns();
      const missing = pool.uncrashedSteps();
      await pool.armFor(missing);
      // The top-up shoppers buy the bulk product: make sure there is some left to buy.
      if ((await catalog.available(BULK)) < 30) await catalog.restock(BULK, 50);
      const plans = planShoppers(this.rng, this.shape, 8, `topup${round}`, true);
      timeline.event(`top-up round ${round}: ${plans.length} shoppers for steps ${missing.join(", ")}`);
      timeline.count("topup_shoppers", plans.length);
      await workload.run(plans);
    }
    const left = pool.uncrashedSteps();
    if (left.length) timeline.notes.push(`saga steps never crashed at: ${left.join(", ")}`);
  }

  async cleanup(): Promise<void> {
    process.removeListener("exit", this.exitHandler);
    await this.system.stopProcesses();
    await Promise.all(this.pool.slots.map((s) => s.respawning?.catch(() => undefined)));
    await this.system.close();
    if (this.passed && !this.options.keepLogs) rmSync(this.logDir, { recursive: true, force: true });
  }
}
