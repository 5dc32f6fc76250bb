/**
 * One chaos run: a flash sale through the real HTTP API, served by three worker
 * processes, while workers are SIGKILLed (at random and at each saga step), Redis
 * restarts empty, MySQL becomes unreachable and jobs are delivered twice. Then the
 * system is left to settle and the invariants are checked.
 *
 * Everything it starts is its own: a redis-server on a free port, a TCP proxy in front
 * of the shared MariaDB, a fresh database, the API and the workers. The shared Redis
 * and MariaDB are never stopped or flushed.
 */
import { appendFileSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Queue, QueueEvents } from "bullmq";
import {
  QUEUE_NAMES,
  createDb,
  createLogger,
  createQueue,
  createRedis,
  keyspace,
  type CheckoutJob,
  type Keyspace,
  type Knex,
  type RedisClient,
} from "@oms/shared";
import { SAGA_STEPS } from "../../apps/workers/src/checkout/saga";
import type { Checkpoint as CrashPoint } from "@oms/workers";
import { migrateLatest } from "@oms/migrations";
import { HttpClient } from "./http-client";
import { runShopper, type ShopperPlan, type ShopperRecord } from "./shopper";
import { CuttableProxy, freePort, sleep } from "./infra";
import { planFaults, type Fault } from "./fault-plan";
import { FULL, SHORT, type Shape } from "./shape";
import { killAutoscaler } from "./autoscaler";
import { freezeWorker } from "./freeze";
import {
  checkInvariants,
  type CheckResult,
  type FaultWindow,
  type InvariantReport,
  type ProductBook,
} from "./invariants";
import { Operator, cancelOrder, lifecycleFigures, type LifecycleAction } from "./lifecycle";
import { OwnMysql, findMariadbd } from "./mysql";
import { StartError, spawnService, type ServiceProcess } from "./processes";
import { Random } from "./prng";
import { chaosCrashCounter } from "./crash-hook";
import { CLUSTER_SHARDS, startChaosRedis, type ChaosRedis, type FaultContext } from "./redis-faults";
import { pendingRefunds } from "../support/refund-invariants";

export { SAGA_STEPS, type CrashPoint };

/** The shared MariaDB the proxy forwards to (and the checks read directly). */
export const MYSQL_HOST = process.env.CHAOS_MYSQL_HOST ?? "127.0.0.1";
export const MYSQL_PORT = Number(process.env.CHAOS_MYSQL_PORT ?? 3306);

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

const WORKERS = 3;
const HOT = "chaos-hot";
const BULK = "chaos-bulk";
const RESTOCK = "chaos-restock";
const PRICES: Record<string, number> = { [HOT]: 4_999, [BULK]: 250, [RESTOCK]: 1_200 };

export interface ChaosReport {
  seed: number;
  form: "short" | "full";
  redis: "single" | "cluster";
  logDir: string;
  timings: Record<string, number>;
  faults: Record<string, number>;
  shoppers: Record<string, number>;
  invariants: InvariantReport | null;
  checks: CheckResult[];
  /** Violation messages (each check's list may be cut short). */
  violations: string[];
  /** Every violation found. */
  violationCount: number;
  /** Problems of the harness itself or of the run that are not product invariants (reported, not failed). */
  notes: string[];
  reconcileRepairs: number;
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

interface WorkerSlot {
  index: number;
  proc?: ServiceProcess;
  generation: number;
  crashStep?: CrashPoint;
  respawning?: Promise<void>;
  frozen?: boolean;
}

class ChaosRun {
  private readonly shape: Shape;
  private readonly rng: Random;
  private readonly id: string;
  private readonly logDir: string;
  private readonly log: (line: string) => void;
  private readonly t0 = Date.now();
  private loadStart = 0;
  private readonly adminToken: string;
  private readonly prefix: string;
  private readonly database: string;
  private readonly keys: Keyspace;
  private redisDeployment?: ChaosRedis;
  private mysqlServer?: OwnMysql;
  private proxy?: CuttableProxy;
  private api?: ServiceProcess;
  private apiPort = 0;
  private readonly slots: WorkerSlot[] = [];
  private stepQueue: CrashPoint[] = [];
  private readonly stepCrashes = new Map<CrashPoint, number>();
  private stopping = false;
  private http?: HttpClient;
  private direct?: Knex;
  private monitor?: RedisClient;
  private queueConnection?: RedisClient;
  private checkoutQueue?: Queue;
  private inventoryQueue?: Queue;
  private events?: QueueEvents;
  private eventsConnection?: RedisClient;
  private readonly faults: Record<string, number> = {};
  private readonly notes: string[] = [];
  private readonly products: ProductBook[] = [];
  private readonly redelivered = new Set<string>();
  private redeliveries: Promise<void> = Promise.resolve();
  private readonly records: ShopperRecord[] = [];
  /** Shoppers' cancels and the operator's refunds, fulfils and ships, with what each was told. */
  private readonly cancels: LifecycleAction[] = [];
  private operator?: Operator;
  /** When workers died (SIGKILL by us or by themselves) and when BullMQ re-delivered a stalled job. */
  private readonly deaths: number[] = [];
  private readonly stalls: number[] = [];
  private readonly stalledJobs: Array<{ jobId: string; at: number }> = [];
  /** Every fault, from when it began to when it was over, for the bound on time-to-final. */
  private readonly faultWindows: FaultWindow[] = [];
  /** Frozen workers' jobs that no other worker took back while they were frozen. */
  private readonly freezeFindings: string[] = [];
  private freezeJobsChecked = 0;
  /** The autoscaler and the worker processes it runs (one checkout worker). */
  private autoscaler?: ServiceProcess;
  private autoscalerGeneration = 0;
  private readonly autoscalerFindings: string[] = [];
  private autoscalerChildrenChecked = 0;
  private passed = false;
  /** Every process this run spawned, so clean-up also stops one still starting. */
  private readonly spawned = new Set<ServiceProcess>();
  private readonly exitHandler = () => this.killEverythingNow();

  constructor(private readonly options: ChaosOptions) {
    this.shape = options.short ? SHORT : FULL;
    this.rng = new Random(options.seed);
    const salt = Math.floor(Math.random() * 0xffffff)
      .toString(16)
      .padStart(6, "0");
    this.id = `${options.seed}_${salt}`;
    this.prefix = `chaos${this.id}`.slice(0, 40);
    this.database = `oms_chaos_${this.id}`;
    this.keys = keyspace(this.prefix, options.cluster ? CLUSTER_SHARDS : 1);
    this.adminToken = `chaos-admin-${this.rng.fork("admin").hex(24)}`;
    this.logDir = join(
      options.logRoot ?? join(tmpdir(), "oms-chaos"),
      `${options.short ? "short" : "full"}${options.cluster ? "-cluster" : ""}-${this.id}`,
    );
    this.log = options.log ?? ((line) => console.log(line));
    process.once("exit", this.exitHandler);
  }

  private elapsed(from = this.t0): string {
    return `${((Date.now() - from) / 1000).toFixed(1)}s`;
  }

  private event(line: string): void {
    const stamp = this.loadStart ? `load+${this.elapsed(this.loadStart)}` : `setup+${this.elapsed()}`;
    appendFileSync(join(this.logDir, "events.log"), `${new Date().toISOString()} ${stamp} ${line}\n`);
  }

  /** A fault was in effect from `startMs` until now (an instant one: a SIGKILL). */
  private faultOver(kind: string, startMs = Date.now()): void {
    this.faultWindows.push({ kind, startMs, endMs: Date.now() });
  }

  private count(fault: string, n = 1): void {
    this.faults[fault] = (this.faults[fault] ?? 0) + n;
  }

  async execute(): Promise<ChaosReport> {
    const form = this.options.short ? "short" : "full";
    mkdirSync(this.logDir, { recursive: true });
    this.log(
      `chaos ${form} run${this.options.cluster ? " on a Redis Cluster" : ""}, seed ${this.options.seed}: logs in ${this.logDir}`,
    );
    const timings: Record<string, number> = {};
    let mark = Date.now();
    const lap = (name: string) => {
      timings[name] = Date.now() - mark;
      mark = Date.now();
    };

    await this.setUp();
    lap("setupMs");
    this.log(
      `  set up in ${(timings.setupMs ?? 0) / 1000}s (api :${this.apiPort}, ${this.redisDeployment?.label}, mysql proxy :${this.proxy?.port}${this.mysqlServer ? ` -> own mariadbd :${this.mysqlServer.port}` : ""})`,
    );

    const plans = this.planShoppers(this.shape.clients, "shopper");
    const faults = this.planFaults();
    writeFileSync(join(this.logDir, "plan.json"), JSON.stringify({ seed: this.options.seed, faults, plans }, null, 2));

    this.loadStart = Date.now();
    this.event(`load starts: ${plans.length} shoppers, ${faults.length} faults scheduled`);
    const faultRun = this.runFaults(faults);
    if (!this.http) throw new Error("no HTTP client");
    this.operator = new Operator(
      this.http,
      () => this.db(),
      this.adminToken,
      this.rng.fork("operator"),
      `chaos-op-${this.id}`,
    );
    const operating = this.operator.run(this.shape.operatorEveryMs);
    this.records.push(...(await this.runShoppers(plans)));
    await faultRun;
    this.operator.stop();
    await operating;
    lap("loadMs");
    this.log(`  load done in ${(timings.loadMs ?? 0) / 1000}s; faults: ${JSON.stringify(this.faults)}`);

    await this.coverRemainingSteps();
    // Finished checkouts delivered once more, after the load: their replays must change nothing.
    await this.redeliver(this.shape.redeliveriesPerBatch, "completed", 10_000);
    lap("topUpMs");

    const quiet = await this.waitForQuiescence();
    lap("quiescenceMs");
    const flushed = await this.flushAll();
    const repairs = await this.reconcile();
    lap("flushReconcileMs");

    const invariants = await checkInvariants(
      this.db(),
      this.redis(),
      this.keys,
      this.products,
      this.records,
      [...this.cancels, ...(this.operator?.actions ?? [])],
      { t0: this.t0, faults: this.faultWindows },
      (id) => this.describeJob(id),
    );
    const redisChecks = (await this.redisDeployment?.checks(this.faultContext())) ?? [];
    lap("checksMs");
    const checks: CheckResult[] = [
      {
        name: "quiescence: no pending order, queues idle, all flushed",
        checked: 3,
        violations: [...quiet, ...flushed],
        failed: quiet.length + flushed.length,
      },
      {
        name: "an autoscaler's workers exit when it is SIGKILLed",
        checked: this.autoscalerChildrenChecked,
        violations: [...this.autoscalerFindings],
        failed: this.autoscalerFindings.length,
      },
      {
        name: "a frozen worker's jobs re-delivered while it was frozen",
        checked: this.freezeJobsChecked,
        violations: [...this.freezeFindings],
        failed: this.freezeFindings.length,
      },
      ...invariants.checks,
      ...redisChecks,
    ];
    const violations = checks.flatMap((c) => c.violations.map((v) => `${c.name}: ${v}`));
    const violationCount = checks.reduce((sum, c) => sum + c.failed, 0);
    this.noteStallRecovery();
    timings.totalMs = Date.now() - this.t0;
    const report: ChaosReport = {
      seed: this.options.seed,
      form,
      redis: this.options.cluster ? "cluster" : "single",
      logDir: this.logDir,
      timings,
      faults: { ...this.faults },
      shoppers: this.shopperFigures(),
      invariants,
      checks,
      violations,
      violationCount,
      notes: this.notes,
      reconcileRepairs: repairs,
    };
    writeFileSync(join(this.logDir, "report.json"), JSON.stringify(report, null, 2));
    writeFileSync(join(this.logDir, "shoppers.json"), JSON.stringify(this.records, null, 2));
    this.passed = violationCount === 0;
    return report;
  }

  // ---- set-up ---------------------------------------------------------------------------

  private baseEnv(): Record<string, string> {
    const proxyPort = this.proxy?.port ?? 0;
    return {
      NODE_ENV: "test",
      HOST: "127.0.0.1",
      PORT: String(this.apiPort),
      ...this.redisDeployment?.env,
      REDIS_PREFIX: this.prefix,
      DATABASE_URL: `mysql://root@127.0.0.1:${proxyPort}/${this.database}`,
      DB_POOL_MAX: "8",
      LOG_LEVEL: "info",
      CART_TIMEOUT_MS: "5000",
      CHECKOUT_TIMEOUT_MS: "5000",
      HOLD_TTL_MS: "4000",
      HOLD_SWEEP_INTERVAL_MS: "500",
      FLUSH_INTERVAL_MS: "1000",
      RECONCILE_INTERVAL_MS: "5000",
      REFUND_SWEEP_AFTER_MS: "3000",
      CHECKOUT_LOCK_TTL_MS: "60000",
      JOB_ATTEMPTS: "6",
      JOB_BACKOFF_MS: "400",
      // A killed worker's jobs come back in seconds, not the 30-45 s of the defaults.
      JOB_LOCK_MS: "5000",
      STALLED_CHECK_MS: "2500",
      SHUTDOWN_GRACE_MS: "2000",
      PAYMENT_SIM_LATENCY_MS: "20",
      PAYMENT_SIM_TRANSIENT_FAILURES: "2",
      WORKER_CONCURRENCY_CART: "10",
      WORKER_CONCURRENCY_CHECKOUT: "10",
      WORKER_STALL_ALERT_MS: "5000",
      RATE_LIMIT_PER_MINUTE: "0",
      METRICS_PORT: "0",
      SEED_ON_START: "false",
      ADMIN_TOKEN: this.adminToken,
    };
  }

  private async setUp(): Promise<void> {
    this.redisDeployment = await startChaosRedis(this.options.cluster ?? false, this.logDir);
    const redisTarget = this.redisDeployment.target;
    const mariadbd = findMariadbd();
    let [mysqlHost, mysqlPort] = [MYSQL_HOST, MYSQL_PORT];
    if (mariadbd && process.env.CHAOS_OWN_MYSQL !== "0") {
      // Our own server, so it can crash; the shared one is only ever cut at the proxy.
      this.mysqlServer = new OwnMysql(mariadbd, await freePort(), this.logDir);
      await this.mysqlServer.install();
      await this.mysqlServer.start();
      [mysqlHost, mysqlPort] = ["127.0.0.1", this.mysqlServer.port];
    } else {
      this.notes.push("no MariaDB server binary here (or CHAOS_OWN_MYSQL=0): MySQL is only cut, never crashed");
    }
    this.proxy = new CuttableProxy(mysqlHost, mysqlPort);
    await this.proxy.listen();
    this.apiPort = await freePort();

    const directUrl = `mysql://root@${mysqlHost}:${mysqlPort}/${this.database}`;
    this.direct = createDb(directUrl, 4, false);
    await this.direct.raw(
      `CREATE DATABASE IF NOT EXISTS \`${this.database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`,
    );
    await this.direct.destroy();
    // The harness's own reads ride out the MySQL crash too: their reconnect warnings are not news.
    this.direct = createDb(directUrl, 4, true, { logger: createLogger("error", "chaos-db") });
    // The release step, as in production: the processes only check that the schema is current.
    await migrateLatest(this.direct);

    this.monitor = createRedis(redisTarget, { forQueue: true, name: "chaos-monitor" });
    this.queueConnection = createRedis(redisTarget, { forQueue: true, name: "chaos-queues" });
    const jobConfig = { JOB_ATTEMPTS: 6, JOB_BACKOFF_MS: 400, CART_REPLAY_RETENTION_MS: 3_600_000 };
    this.checkoutQueue = createQueue("checkout", this.queueConnection, this.keys, jobConfig);
    this.inventoryQueue = createQueue("inventory", this.queueConnection, this.keys, jobConfig);
    // Without listeners BullMQ prints every connection error while Redis is down.
    this.checkoutQueue.on("error", () => undefined);
    this.inventoryQueue.on("error", () => undefined);
    this.eventsConnection = createRedis(redisTarget, { forQueue: true, name: "chaos-events" });
    this.events = new QueueEvents(QUEUE_NAMES.checkout, {
      connection: this.eventsConnection,
      prefix: this.keys.queuePrefix("checkout"),
    });
    this.events.on("error", () => undefined);
    this.events.on("stalled", ({ jobId }) => {
      this.stalls.push(Date.now());
      this.stalledJobs.push({ jobId, at: Date.now() });
      this.count("stalled_jobs_redelivered");
      this.event(`job ${jobId} stalled: delivered again`);
    });

    this.api = await spawnService({
      name: "api",
      script: "apps/api/src/main.ts",
      env: this.baseEnv(),
      logDir: this.logDir,
      readyTimeoutMs: 90_000,
      onSpawn: (p) => this.spawned.add(p),
    });
    void this.api.exited.then((info) => {
      if (!this.stopping) this.notes.push(`the API process exited during the run (${info.code ?? info.signal})`);
    });
    this.http = new HttpClient(`http://127.0.0.1:${this.apiPort}`);

    const shape = this.shape;
    const catalog: Array<[string, number]> = [
      [HOT, shape.hotStock],
      [BULK, shape.bulkStock],
      [RESTOCK, shape.restockStock],
    ];
    for (const [productId, quantity] of catalog) {
      const res = await this.http.request(
        "POST",
        "/admin/products",
        {
          productID: productId,
          productName: productId,
          priceCents: PRICES[productId] ?? 100,
          quantity,
        },
        { authorization: `Bearer ${this.adminToken}` },
      );
      if (res.status !== 201)
        throw new Error(`could not create ${productId}: ${res.status} ${JSON.stringify(res.body)}`);
      this.products.push({ productId, initial: quantity, restocked: 0 });
    }

    this.stepQueue = [...shape.steps];
    for (let i = 0; i < WORKERS; i++) this.slots.push({ index: i, generation: 0 });
    await Promise.all(this.slots.map((slot) => this.startSlot(slot, this.stepQueue.shift())));
    await this.startAutoscaler();
  }

  /** The autoscaler runs one checkout worker of its own beside the slots' workers. */
  private async startAutoscaler(): Promise<void> {
    this.autoscalerGeneration++;
    const name = `autoscaler-g${this.autoscalerGeneration}`;
    try {
      this.autoscaler = await spawnService({
        name,
        script: "apps/workers/src/autoscale/main.ts",
        env: {
          ...this.baseEnv(),
          AUTOSCALE_WORKERS: "checkout=1:1",
          AUTOSCALE_METRICS_PORT: "0",
          AUTOSCALE_POLL_INTERVAL_MS: "1000",
        },
        logDir: this.logDir,
        readyTimeoutMs: 90_000,
        onSpawn: (p) => this.spawned.add(p),
      });
      this.event(`${name} started (pid ${this.autoscaler.child.pid})`);
    } catch (err) {
      this.notes.push(`${name} could not be started: ${(err as Error).message}`);
    }
  }

  /** A worker process consumes once it beats in the heartbeat set (its ids begin with its pid). */
  private async workerBeats(pid: number): Promise<boolean> {
    const beating = await this.redis().zrangebyscore(this.keys.workerHeartbeats, Date.now() - 10_000, "+inf");
    return beating.some((id) => id.startsWith(`${pid}-`));
  }

  /** SIGKILLs the autoscaler; its workers must exit by themselves; then a new one starts. */
  private async killTheAutoscaler(fault: Extract<Fault, { kind: "kill_autoscaler" }>): Promise<void> {
    const proc = this.autoscaler;
    if (!proc?.isAlive()) {
      this.count("autoscaler_kill_skipped");
      return;
    }
    const boundMs = 15_000;
    this.event(`SIGKILL ${proc.name}; its workers must exit within ${boundMs} ms`);
    const outcome = await killAutoscaler(proc, boundMs, (pid) => this.workerBeats(pid));
    this.deaths.push(Date.now());
    this.faultOver("an autoscaler's SIGKILL");
    this.count("autoscaler_sigkill");
    this.autoscalerChildrenChecked += Math.max(1, outcome.children.length);
    if (!outcome.children.length) this.autoscalerFindings.push(`${proc.name} ran no worker when it was killed`);
    for (const pid of outcome.outlived)
      this.autoscalerFindings.push(`worker pid ${pid} of ${proc.name} still ran ${boundMs} ms after it was killed`);
    this.event(
      `${proc.name}'s ${outcome.children.length} workers exited ${outcome.lastExitMs} ms after it; ${outcome.outlived.length} outlived it`,
    );
    await sleep(fault.downMs);
    if (!this.stopping) await this.startAutoscaler();
  }

  private async startSlot(slot: WorkerSlot, crashStep: CrashPoint | undefined): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      slot.generation++;
      slot.crashStep = crashStep;
      const name = `worker${slot.index}-g${slot.generation}${crashStep ? `-crash-at-${crashStep}` : ""}`;
      try {
        const env = this.baseEnv();
        if (crashStep) {
          env.CHAOS_CRASH_AT = crashStep;
          // The step's crash counter is shared by every worker, and every job that reaches the
          // step counts (several may, side by side, before the SIGKILL lands): a small limit
          // would disarm later workers. Each armed worker dies once anyway, and is replaced by
          // an unarmed one (or one armed for the next step), so the limit only has to be high.
          await this.redis().del(chaosCrashCounter(this.keys, crashStep));
          env.CHAOS_CRASH_LIMIT = "1000000";
        }
        const proc = await spawnService({
          name,
          script: crashStep ? "test/chaos/worker-entry.ts" : "apps/workers/src/main.ts",
          env,
          logDir: this.logDir,
          readyTimeoutMs: 90_000,
          onSpawn: (p) => this.spawned.add(p),
        });
        slot.proc = proc;
        this.event(`${name} started (pid ${proc.child.pid}) in ${((proc.readyAt ?? 0) - proc.startedAt) / 1000}s`);
        void proc.exited.then((info) => this.onWorkerExit(slot, proc, info.code, info.signal));
        return;
      } catch (err) {
        const proc = err instanceof StartError ? err.proc : undefined;
        const info = proc ? await proc.exited : undefined;
        if (crashStep && proc && info?.signal === "SIGKILL" && !proc.signalledByUs) {
          // Workers take jobs before they log that they started: this one reached its step first.
          this.recordStepCrash(crashStep, proc);
          crashStep = this.stepQueue.shift();
          continue;
        }
        this.count("worker_start_failures");
        this.event(`${name} failed to start: ${(err as Error).message}`);
        if (this.stopping) return;
        if (attempt >= 6) {
          this.notes.push(`worker slot ${slot.index} could not be started: ${(err as Error).message}`);
          return;
        }
        await sleep(1_000);
      }
    }
  }

  private recordStepCrash(step: CrashPoint, proc: ServiceProcess): void {
    this.deaths.push(Date.now());
    this.faultOver(`a worker's crash after "${step}"`);
    this.stepCrashes.set(step, (this.stepCrashes.get(step) ?? 0) + 1);
    this.count(`step_crash:${step}`);
    this.event(`${proc.name} killed itself after step "${step}"${proc.selfKillLogged ? "" : " (no log line seen)"}`);
  }

  private onWorkerExit(slot: WorkerSlot, proc: ServiceProcess, code: number | null, signal: string | null): void {
    if (this.stopping || slot.proc !== proc) return;
    let next = slot.crashStep;
    if (signal === "SIGKILL" && !proc.signalledByUs) {
      const step = slot.crashStep;
      this.faultOver(step ? `a worker's crash after "${step}"` : "a worker's SIGKILL");
      if (step) {
        this.stepCrashes.set(step, (this.stepCrashes.get(step) ?? 0) + 1);
        this.count(`step_crash:${step}`);
        this.event(
          `${proc.name} killed itself after step "${step}"${proc.selfKillLogged ? "" : " (no log line seen)"}`,
        );
      } else {
        this.count("unexplained_sigkill");
        this.notes.push(`${proc.name} died of a SIGKILL nobody sent (out of memory?)`);
      }
      next = this.stepQueue.shift();
    } else if (!proc.signalledByUs) {
      this.count("unexpected_worker_exits");
      this.notes.push(`${proc.name} exited by itself (code ${code}, signal ${signal}); see ${proc.logPath}`);
      this.event(`${proc.name} exited by itself (code ${code}, signal ${signal})`);
    }
    const delay = this.rng.fork(`respawn-${proc.name}`).int(300, 1_500);
    slot.respawning = sleep(delay)
      .then(() => (this.stopping ? undefined : this.startSlot(slot, next)))
      .finally(() => (slot.respawning = undefined));
  }

  // ---- workload -------------------------------------------------------------------------

  private planShoppers(count: number, label: string, onlyBulk = false): ShopperPlan[] {
    const plans: ShopperPlan[] = [];
    for (let i = 0; i < count; i++) {
      const rng = this.rng.fork(`${label}-${i}`);
      const lines: ShopperPlan["lines"] = [];
      const mix = onlyBulk
        ? "bulk"
        : rng.weighted([
            ["hot", 55],
            ["bulk", 30],
            ["restock", 15],
          ] as const);
      if (mix === "hot") {
        lines.push({
          productId: HOT,
          quantity: rng.weighted([
            [1, 85],
            [2, 15],
          ] as const),
        });
        if (rng.chance(0.3)) lines.push({ productId: BULK, quantity: rng.int(1, 2) });
      } else if (mix === "bulk") {
        lines.push({ productId: BULK, quantity: rng.int(1, 3) });
      } else {
        lines.push({ productId: RESTOCK, quantity: rng.int(1, 2) });
        if (rng.chance(0.3)) lines.push({ productId: HOT, quantity: 1 });
      }
      plans.push({
        clientId: `${label}-${String(i).padStart(3, "0")}`,
        startAtMs: onlyBulk ? rng.int(0, 500) : Math.floor(rng.between(0, this.shape.loadWindowMs)),
        lines,
        paymentToken: onlyBulk
          ? "tok_ok"
          : rng.weighted([
              ["tok_ok", 88],
              ["tok_decline", 6],
              ["tok_error", 6],
            ] as const),
        idempotencyKey: `chaos-${this.options.seed}-${label}-${i}-${rng.hex(8)}`,
        respondAsync: !onlyBulk && rng.chance(0.1),
        // Top-up shoppers cancel too, so a worker armed for "refund-answered" gets a refund.
        cancelAfter: rng.chance(onlyBulk ? 0.5 : this.shape.cancelShare),
      });
    }
    return plans;
  }

  private async runShoppers(plans: ShopperPlan[]): Promise<ShopperRecord[]> {
    const http = this.http;
    if (!http) throw new Error("no HTTP client");
    const start = Date.now();
    return Promise.all(
      plans.map(async (plan) => {
        await sleep(Math.max(0, start + plan.startAtMs - Date.now()));
        const rng = this.rng.fork(`retry-${plan.clientId}`);
        const record = await runShopper(http, plan, rng, this.shape.limits, this.t0);
        if (plan.cancelAfter && record.final.kind === "success")
          this.cancels.push(await cancelOrder(http, record.final.orderId, rng));
        return record;
      }),
    );
  }

  // ---- faults ---------------------------------------------------------------------------

  private planFaults(): Fault[] {
    return planFaults(this.shape, this.rng, {
      redis: this.redisDeployment,
      mysqlCrashes: Boolean(this.mysqlServer),
      workers: WORKERS,
      restockProduct: RESTOCK,
    });
  }

  private async runFaults(faults: Fault[]): Promise<void> {
    const start = this.loadStart;
    await Promise.all(
      faults.map(async (fault) => {
        await sleep(Math.max(0, start + fault.atMs - Date.now()));
        try {
          await this.inject(fault);
        } catch (err) {
          this.notes.push(`fault ${fault.kind} at ${fault.atMs} ms could not be injected: ${(err as Error).message}`);
        }
      }),
    );
  }

  private async inject(fault: Fault): Promise<void> {
    switch (fault.kind) {
      case "kill_worker": {
        // All workers may be down (crashed at their steps, restarting): wait for one, bounded.
        const deadline = Date.now() + 60_000;
        while (!this.slots.some((s) => s.proc?.isAlive()) && Date.now() < deadline && !this.stopping) await sleep(250);
        const alive = this.slots.filter((s) => s.proc?.isAlive() && !s.frozen);
        const slot = alive.find((s) => s.index === fault.slot) ?? alive[0];
        if (!slot?.proc) {
          this.count("kill_skipped_no_worker");
          return;
        }
        // A worker that just started has taken no job yet: give it a moment to be mid-job.
        await sleep(Math.max(0, (slot.proc.readyAt ?? 0) + 1_500 - Date.now()));
        // Frozen meanwhile: the freeze decides how that worker ends.
        if (!slot.proc?.isAlive() || slot.frozen) {
          this.count("kill_skipped_no_worker");
          return;
        }
        this.event(`SIGKILL ${slot.proc.name}`);
        this.deaths.push(Date.now());
        slot.proc.kill("SIGKILL");
        this.faultOver("a worker's SIGKILL");
        this.count("worker_sigkill");
        return;
      }
      case "redis_restart":
      case "redis_primary_kill":
      case "redis_node_empty":
        await this.redisDeployment?.inject(fault, this.faultContext());
        return;
      case "mysql_cut": {
        this.event(`MySQL cut (${fault.mode}) for ${fault.durationMs} ms`);
        this.count(`mysql_cut:${fault.mode}`);
        const start = Date.now();
        await this.proxy?.cut(fault.durationMs, fault.mode);
        this.faultOver("a MySQL cut", start);
        this.event("MySQL reachable again");
        return;
      }
      case "mysql_crash": {
        const server = this.mysqlServer;
        if (!server) return;
        this.event(`MariaDB SIGKILLed (pid ${server.pid}); down for ${fault.downMs} ms, then crash recovery`);
        const start = Date.now();
        await server.crash(fault.downMs);
        this.faultOver("a MySQL crash", start);
        this.count("mysql_crash");
        this.event(`MariaDB is back after crash recovery (pid ${server.pid}, ${Date.now() - start} ms after the kill)`);
        return;
      }
      case "freeze_worker":
        await this.freeze(fault);
        return;
      case "kill_autoscaler":
        await this.killTheAutoscaler(fault);
        return;
      case "redeliver":
        await this.redeliver(fault.count);
        return;
      case "restock":
        await this.restock(fault.productId, fault.add);
        return;
    }
  }

  /** SIGSTOPs a live worker past its job lock; another worker must take its jobs back meanwhile. */
  private async freeze(fault: Extract<Fault, { kind: "freeze_worker" }>): Promise<void> {
    const deadline = Date.now() + 30_000;
    const pick = () => {
      // One freeze at a time, and another live worker must be there to run the stalled
      // check (two overlapping freezes plus a kill left none: seed 2852381652).
      if (this.slots.some((s) => s.frozen)) return undefined;
      const alive = this.slots.filter((s) => s.proc?.isAlive() && !s.frozen);
      if (alive.length < 2) return undefined;
      return alive.find((s) => s.index === fault.slot) ?? alive[0];
    };
    let slot = pick();
    while (!slot && Date.now() < deadline && !this.stopping) {
      await sleep(250);
      slot = pick();
    }
    const proc = slot?.proc;
    const queue = this.checkoutQueue;
    if (!slot || !proc || !queue) {
      this.count("freeze_skipped_no_worker");
      return;
    }
    slot.frozen = true;
    this.event(`SIGSTOP ${proc.name} for ${fault.frozenMs} ms, then ${fault.endWith}`);
    const start = Date.now();
    try {
      const outcome = await freezeWorker(proc, {
        frozenMs: fault.frozenMs,
        endWith: fault.endWith,
        queue,
        redis: this.redis(),
        stalledSince: (jobId, since) => this.stalledJobs.some((s) => s.jobId === jobId && s.at >= since),
        othersAlive: () =>
          this.slots.some((s) => s !== slot && !s.frozen && s.proc?.isAlive() && s.proc.readyAt !== undefined) ||
          Boolean(this.autoscaler?.isAlive()),
      });
      this.faultOver("a worker's freeze", outcome.stoppedAt);
      if (!outcome.held.length) this.notes.push(`${proc.name} held no checkout job when it was frozen`);
      if (outcome.endedWith === "SIGKILL") this.deaths.push(Date.now());
      this.count("worker_freeze");
      this.count(`worker_freeze_then_${outcome.endedWith}`);
      this.count("frozen_worker_jobs", outcome.held.length);
      // A lock, then BullMQ marks the job stalled on one check and moves it on the next.
      const needMs = Number(this.baseEnv().JOB_LOCK_MS) + 3 * Number(this.baseEnv().STALLED_CHECK_MS);
      if (outcome.stuck.length && outcome.coveredMs < needMs) {
        // Every other worker died (crashed at its step, killed) and the replacements were still
        // starting: nobody ran a stalled check. Reported; not a fault of the product.
        this.notes.push(
          `${proc.name} frozen while no other worker ran for ${needMs} ms in a row (longest ${outcome.coveredMs} ms): its ${outcome.stuck.length} jobs came back after the freeze`,
        );
        this.count("freeze_uncovered");
        return;
      }
      this.freezeJobsChecked += Math.max(1, outcome.held.length);
      for (const id of outcome.stuck)
        this.freezeFindings.push(
          `job ${id} of frozen ${proc.name} was still active without its lock after ${fault.frozenMs} ms, never re-delivered (JOB_LOCK_MS ${this.baseEnv().JOB_LOCK_MS}, STALLED_CHECK_MS ${this.baseEnv().STALLED_CHECK_MS})`,
        );
      this.event(
        `${proc.name} ${outcome.endedWith === "SIGCONT" ? "resumed" : "SIGKILLed"} after ${Date.now() - start} ms; it held ${outcome.held.length} checkout jobs, ${outcome.stuck.length} not taken back`,
      );
    } finally {
      slot.frozen = false;
    }
  }

  /**
   * Delivers checkout jobs a second time: a finished or running job's payload is added
   * again under a new job id (same order id). Only orders MySQL knows are chosen, so
   * each replay is of a checkout that really happened.
   */
  private async redeliver(count: number, only?: "completed", waitMs = 120_000): Promise<void> {
    // One batch at a time, so two batches never pick the same job.
    const run = this.redeliveries.then(async () => {
      // Early in a run (or just after Redis lost everything) nothing may have finished yet.
      const deadline = Date.now() + waitMs;
      let done = 0;
      while (done < count && Date.now() < deadline) {
        done += await this.redeliverSome(count - done, only).catch(() => 0);
        if (done < count) await sleep(1_000);
      }
      if (done < count) this.count("redeliver_short", count - done);
    });
    this.redeliveries = run;
    return run;
  }

  /** Re-adds up to `count` jobs, half finished and half running when there are both. */
  private async redeliverSome(count: number, only?: "completed"): Promise<number> {
    const queue = this.checkoutQueue;
    if (!queue) return 0;
    const eligible = async (state: "completed" | "active") => {
      const jobs = (await queue.getJobs([state], 0, 1_000)).filter(
        (j) =>
          j.id &&
          !j.id.startsWith("redeliver-") &&
          (j.data as CheckoutJob | undefined)?.type === "checkout" &&
          !this.redelivered.has((j.data as CheckoutJob).orderId),
      );
      const orderIds = jobs.map((j) => (j.data as CheckoutJob).orderId);
      const known = new Set(
        orderIds.length
          ? (
              (await this.db()("orders").whereIn("order_id", orderIds).select("order_id")) as Array<{
                order_id: string;
              }>
            ).map((r) => r.order_id)
          : [],
      );
      // Only checkouts MySQL knows: a replay of one that really happened.
      return jobs
        .filter((j) => known.has((j.data as CheckoutJob).orderId))
        .sort((a, b) => ((a.id ?? "") < (b.id ?? "") ? -1 : 1));
    };
    const finished = await eligible("completed");
    const running = only ? [] : await eligible("active");
    const rng = this.rng.fork(`redeliver-${this.redelivered.size}`);
    const fromFinished = Math.min(finished.length, Math.max(count - running.length, Math.ceil(count / 2)));
    const chosen = [
      ...rng.sample(finished, fromFinished).map((job) => ({ job, state: "finished" })),
      ...rng.sample(running, count - fromFinished).map((job) => ({ job, state: "running" })),
    ];
    for (const { job, state } of chosen) {
      const data = job.data as CheckoutJob;
      this.redelivered.add(data.orderId);
      await queue.add("checkout", data, { jobId: `redeliver-${this.redelivered.size}-${data.orderId}` });
      this.count("redelivered_jobs");
      this.count(`redelivered_${state}`);
      this.event(`re-delivered ${state} checkout of order ${data.orderId} (job ${job.id})`);
    }
    return chosen.length;
  }

  private async restock(productId: string, add: number): Promise<void> {
    const http = this.http;
    if (!http) return;
    // One key per restock: a retry after a lost answer replays the first answer instead of adding twice.
    const key = `chaos-restock-${this.options.seed}-${productId}-${this.faults.restock ?? 0}-${Date.now()}`;
    for (let attempt = 0; attempt < 10; attempt++) {
      try {
        const res = await http.request(
          "POST",
          `/admin/products/${productId}/restock`,
          { add },
          { authorization: `Bearer ${this.adminToken}`, "Idempotency-Key": key },
        );
        this.event(`restock ${productId} +${add}: ${res.status} ${JSON.stringify(res.body)}`);
        if (res.status === 200) {
          const book = this.products.find((p) => p.productId === productId);
          if (book) book.restocked += add;
          this.count("restock");
          return;
        }
        if (res.status < 500 && res.status !== 409) {
          this.notes.push(`restock of ${productId} refused: ${res.status} ${JSON.stringify(res.body)}`);
          return;
        }
      } catch (err) {
        this.event(`restock ${productId}: ${(err as Error).message}`);
      }
      await sleep(500);
    }
    this.notes.push(`restock of ${productId} got no clear answer; conservation assumes it did not apply`);
  }

  /**
   * Steps whose armed worker never reached its step during the load: arm a worker for
   * each, and send a few more shoppers until it has crashed there (bounded).
   */
  private async coverRemainingSteps(): Promise<void> {
    const covered = () => this.shape.steps.filter((s) => !this.stepCrashes.has(s));
    for (let round = 0; round < 4 && covered().length; round++) {
      await Promise.all(this.slots.map((s) => s.respawning));
      const missing = covered();
      const armed = new Set(this.slots.map((s) => s.crashStep).filter((s) => s !== undefined));
      for (const step of missing) {
        if (armed.has(step)) continue;
        this.stepQueue = this.stepQueue.filter((s) => s !== step);
        const slot = this.slots.find((s) => !s.crashStep);
        if (!slot?.proc) break;
        this.event(`arming a worker for step "${step}" (not reached during the load)`);
        const old = slot.proc;
        slot.proc = undefined;
        await old.stop(3_000);
        await this.startSlot(slot, step);
        armed.add(step);
      }
      // The top-up shoppers buy the bulk product: make sure there is some left to buy.
      const bulk = await this.http?.request("GET", `/products/${BULK}`).catch(() => undefined);
      const available = Number((bulk?.body.product as { available?: number } | undefined)?.available ?? 0);
      if (available < 30) await this.restock(BULK, 50);
      const plans = this.planShoppers(8, `topup${round}`, true);
      this.event(`top-up round ${round}: ${plans.length} shoppers for steps ${missing.join(", ")}`);
      this.count("topup_shoppers", plans.length);
      this.records.push(...(await this.runShoppers(plans)));
    }
    const left = covered();
    if (left.length) this.notes.push(`saga steps never crashed at: ${left.join(", ")}`);
  }

  // ---- settle and check -----------------------------------------------------------------

  private db(): Knex {
    if (!this.direct) throw new Error("no direct MySQL connection");
    return this.direct;
  }

  private faultContext(): FaultContext {
    return {
      keys: this.keys,
      hotKey: this.keys.stock(HOT),
      redis: () => this.redis(),
      event: (line) => this.event(line),
      count: (fault) => this.count(fault),
      faultOver: (kind, startMs) => this.faultOver(kind, startMs),
    };
  }

  private redis(): RedisClient {
    if (!this.monitor) throw new Error("no Redis connection");
    return this.monitor;
  }

  private async busyCheckoutJobs(): Promise<number> {
    const counts = await this.checkoutQueue?.getJobCounts("active", "waiting", "delayed", "prioritized");
    return Object.values(counts ?? {}).reduce((s, n) => s + n, 0);
  }

  /** Pending orders, and refunds the provider has not confirmed yet: neither is at rest. */
  private async pendingOrders(): Promise<number> {
    const row = (await this.db()("orders").where({ state: "pending" }).count({ n: "*" }).first()) as
      { n: number | string } | undefined;
    return Number(row?.n ?? 0) + (await pendingRefunds(this.db()));
  }

  /** Waits (bounded) for no pending order and idle checkout queue; returns violations. */
  private async waitForQuiescence(): Promise<string[]> {
    await Promise.race([Promise.all(this.slots.map((s) => s.respawning)), sleep(60_000)]);
    const deadline = Date.now() + this.shape.quiescenceMs;
    let pending = 0;
    let busy = 0;
    for (;;) {
      try {
        pending = await this.pendingOrders();
        busy = await this.busyCheckoutJobs();
        if (pending === 0 && busy === 0) {
          this.event("quiet: no pending order, no checkout job in flight");
          return [];
        }
      } catch (err) {
        this.event(`quiescence probe failed: ${(err as Error).message}`);
      }
      if (Date.now() > deadline) break;
      await sleep(500);
    }
    const stuck = (await this.db()("orders")
      .where({ state: "pending" })
      .limit(10)
      .select("order_id", "updated_at")) as Array<{
      order_id: string;
      updated_at: Date;
    }>;
    return [
      `not quiet after ${this.shape.quiescenceMs / 1000}s: ${pending} pending orders or unconfirmed refunds (orders: ${stuck
        .map((o) => `${o.order_id} last updated ${o.updated_at.toISOString()}`)
        .join(", ")}), ${busy} checkout jobs in flight`,
    ];
  }

  /** Asks the inventory queue to flush and waits (bounded) for reserve_purchase to empty. */
  private async flushAll(): Promise<string[]> {
    const deadline = Date.now() + 30_000;
    for (let i = 0; ; i++) {
      const row = (await this.db()("reserve_purchase").count({ n: "*" }).first()) as { n: number | string } | undefined;
      const left = Number(row?.n ?? 0);
      if (left === 0) return [];
      if (Date.now() > deadline) return [`${left} reserve_purchase rows still unflushed after 30 s`];
      if (i % 6 === 0)
        await this.inventoryQueue?.add(
          "flush",
          { type: "flush" },
          { jobId: `chaos-flush-${Date.now()}`, removeOnComplete: true },
        );
      await sleep(500);
    }
  }

  /** POST /admin/reconcile until it answers 200; returns how many levels it repaired. */
  private async reconcile(): Promise<number> {
    const http = this.http;
    if (!http) return 0;
    for (let attempt = 0; attempt < 10; attempt++) {
      try {
        const res = await http.request(
          "POST",
          "/admin/reconcile",
          {},
          { authorization: `Bearer ${this.adminToken}` },
          40_000,
        );
        this.event(`reconcile: ${res.status} ${JSON.stringify(res.body)}`);
        if (res.status === 200) {
          const report = res.body.report as { repaired?: number; repairs?: unknown[] } | null;
          const repaired = report?.repaired ?? 0;
          if (repaired) this.count("reconcile_repairs_at_end", repaired);
          return repaired;
        }
      } catch (err) {
        this.event(`reconcile: ${(err as Error).message}`);
      }
      await sleep(1_000);
    }
    this.notes.push("POST /admin/reconcile never answered 200");
    return 0;
  }

  /** How long BullMQ took to re-deliver the jobs of a killed worker (its lock must lapse first). */
  private noteStallRecovery(): void {
    const delays = this.deaths
      .map((d) => this.stalls.find((s) => s >= d))
      .map((s, i) => (s === undefined ? undefined : s - (this.deaths[i] ?? 0)))
      .filter((d): d is number => d !== undefined && d <= 90_000)
      .sort((a, b) => a - b);
    if (delays.length)
      this.notes.push(
        `stalled jobs of a killed worker came back after ${delays.map((d) => (d / 1000).toFixed(0)).join(", ")} s (JOB_LOCK_MS ${this.baseEnv().JOB_LOCK_MS} + STALLED_CHECK_MS ${this.baseEnv().STALLED_CHECK_MS})`,
      );
  }

  /** What the checkout queue knows of a job (its id is the order id). */
  private async describeJob(orderId: string): Promise<{ text: string; cause: string }> {
    const job = await this.checkoutQueue?.getJob(orderId).catch(() => undefined);
    if (!job) return { text: "the checkout queue has no such job (lost with Redis, or removed)", cause: "job lost" };
    const state = await job.getState().catch(() => "unknown");
    const value = job.returnvalue as { outcome?: string } | null | undefined;
    return {
      text: `its job is ${state}, attempts ${job.attemptsMade}, returned ${JSON.stringify(job.returnvalue)}${
        job.failedReason ? `, failed: ${job.failedReason}` : ""
      }`,
      cause: `job ${state}${value?.outcome ? ` with ${value.outcome}` : ""}`,
    };
  }

  private shopperFigures(): Record<string, number> {
    const f: Record<string, number> = {
      ...lifecycleFigures([...this.cancels, ...(this.operator?.actions ?? [])]),
      clients: this.records.length,
      checkouts_attempted: 0,
      told_success: 0,
      told_success_by_polling: 0,
      told_failed: 0,
      rejected: 0,
      unknown_order: 0,
      no_final_answer: 0,
      http_500: 0,
      http_requests: this.http?.requests ?? 0,
      network_errors: this.http?.networkErrors ?? 0,
    };
    const inc = (k: string) => (f[k] = (f[k] ?? 0) + 1);
    for (const r of this.records) {
      if (r.checkoutAttempted) inc("checkouts_attempted");
      f.http_500 = (f.http_500 ?? 0) + r.serverErrors;
      switch (r.final.kind) {
        case "success":
          inc("told_success");
          if (r.final.via === "poll") inc("told_success_by_polling");
          break;
        case "failed":
          inc("told_failed");
          inc(
            `failed_${r.final.status === 402 ? "declined" : r.final.via === "poll" ? "after_pending" : r.final.status}`,
          );
          break;
        case "rejected":
          inc("rejected");
          inc(`rejected_${r.final.status}`);
          break;
        case "unknown_order":
          inc("unknown_order");
          break;
        case "none":
          inc("no_final_answer");
          break;
      }
    }
    return f;
  }

  // ---- clean-up -------------------------------------------------------------------------

  private killEverythingNow(): void {
    this.stopping = true;
    for (const proc of this.spawned) proc.kill("SIGKILL");
    this.redisDeployment?.killNow();
    this.mysqlServer?.removeNow();
  }

  async cleanup(): Promise<void> {
    this.stopping = true;
    process.removeListener("exit", this.exitHandler);
    await Promise.all([...this.spawned].map((p) => p.stop(1_000)));
    await Promise.all(this.slots.map((s) => s.respawning?.catch(() => undefined)));
    this.http?.close();
    await this.events?.close().catch(() => undefined);
    await this.checkoutQueue?.close().catch(() => undefined);
    await this.inventoryQueue?.close().catch(() => undefined);
    this.queueConnection?.disconnect();
    this.eventsConnection?.disconnect();
    this.monitor?.disconnect();
    await this.proxy?.close();
    await this.redisDeployment?.stop();
    if (this.direct) {
      if (!this.mysqlServer)
        await this.direct.raw(`DROP DATABASE IF EXISTS \`${this.database}\``).catch(() => undefined);
      await this.direct.destroy();
    }
    await this.mysqlServer?.destroy();
    if (this.passed && !this.options.keepLogs) rmSync(this.logDir, { recursive: true, force: true });
  }
}
