/**
 * The autoscaler for one machine: it runs worker processes per queue between a minimum
 * and a maximum, measures every queue each poll interval, lets `decide` say how many
 * processes each queue needs, and makes it so.
 *
 * - Growing spawns processes (one queue per process, WORKER_QUEUES=<queue>).
 * - Shrinking retires processes: SIGTERM, on which a worker stops taking jobs and
 *   finishes its active ones (bounded by its SHUTDOWN_GRACE_MS, after which it hands
 *   them back); a process still alive after `retireTimeoutMs` is killed. Starting
 *   processes go first, then the newest.
 * - A process that exits unasked is replaced at once; one that keeps dying before it
 *   is ready is restarted with an exponential back-off.
 * - A consuming process whose heartbeat (over its IPC channel) stops for `hungAfterMs`
 *   is frozen or blocked: it is SIGKILLed and so replaced. BullMQ's stalled-job check
 *   runs here too (`stalledCheck`), so the jobs it held come back even when it was the
 *   only process running that check.
 * - Whenever a process exits, the active jobs it still held go back to wait at once
 *   (hand-back.ts), instead of when their locks lapse.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { EventEmitter } from "node:events";
import { createInterface } from "node:readline";
import { Queue, type Job } from "bullmq";
import {
  QUEUE_NAMES,
  createRedis,
  entryCommand,
  type Logger,
  type QueueName,
  type RedisClient,
  type RedisTarget,
} from "@oms/shared";
import {
  decide,
  initialState,
  type Decision,
  type QueueLimits,
  type QueueObservation,
  type ScalerState,
  type ScalingPolicy,
} from "./decision";
import { recordDecision, type AutoscaleMetrics } from "./metrics";
import { isHeartbeat, isReady } from "../supervised";
import { watchHeartbeats } from "./hung";
import { handBackJobs } from "./hand-back";
import { startStalledChecks, type StalledCheckOptions, type StalledChecks } from "./stalled-check";

/** How a worker process is started; WORKER_QUEUES is added to its environment. */
export interface WorkerCommand {
  file: string;
  args: string[];
  cwd: string;
}

/** The real worker, run by the same Node: dist/workers.js from a build, its source through tsx otherwise. */
export const DEFAULT_WORKER_COMMAND: WorkerCommand = entryCommand("workers");

export interface SupervisorOptions {
  redisTarget: string | RedisTarget;
  /** BullMQ prefix of each queue, `keyspace(REDIS_PREFIX).queuePrefix`. */
  queuePrefix: (queue: QueueName) => string;
  /** Queues to run, each with its min and max processes. */
  limits: Map<QueueName, QueueLimits>;
  policy: ScalingPolicy;
  pollIntervalMs: number;
  /** How long a retiring process may take to exit before it is killed. */
  retireTimeoutMs: number;
  logger: Logger;
  metrics?: AutoscaleMetrics;
  command?: WorkerCommand;
  /** Environment of the worker processes (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** false: measure and export only, run no processes (KEDA's metrics source). */
  spawnWorkers?: boolean;
  /** Copy the workers' output lines to this process's stdout/stderr (default true). */
  forwardOutput?: boolean;
  /** Back-off of a process that keeps exiting before it is ready. */
  restartBackoff?: { baseMs: number; maxMs: number };
  /** Bound of one measurement, so a hung Redis cannot stall the loop. */
  measureTimeoutMs?: number;
  /** A consuming worker silent on its heartbeat this long is killed and replaced (0 or unset: never). */
  hungAfterMs?: number;
  /** Run BullMQ's stalled-job check on the supervised queues from this process too. */
  stalledCheck?: StalledCheckOptions;
}

export interface WorkerInfo {
  queue: QueueName;
  pid: number;
}

export interface WorkerExit extends WorkerInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** It was retiring (or the supervisor was stopping). */
  retired: boolean;
  /** It was killed because it did not exit within retireTimeoutMs. */
  forced: boolean;
  /** It was killed because its heartbeat stopped. */
  hung: boolean;
  /** For a retired process, how long it drained. */
  drainMs?: number;
}

export interface DecisionEvent {
  queue: QueueName;
  observation: QueueObservation;
  running: number;
  ready: number;
  decision: Decision;
}

type SupervisorEvents = {
  spawn: [WorkerInfo];
  ready: [WorkerInfo & { startupMs: number }];
  retire: [WorkerInfo];
  exit: [WorkerExit];
  /** An unasked exit; a replacement follows. */
  crash: [WorkerExit & { output: string[] }];
  /** A consuming process whose heartbeat stopped; it is killed, and its exit is a crash. */
  hung: [WorkerInfo & { silentMs: number }];
  /** Jobs a gone process still held, moved back to wait. */
  handBack: [WorkerInfo & { jobs: string[] }];
  decision: [DecisionEvent];
};

export interface QueueStatus {
  queue: QueueName;
  limits: QueueLimits;
  desired: number;
  /** Processes not retiring (starting or consuming). */
  running: number;
  ready: number;
  retiring: number;
  pids: number[];
  observation?: QueueObservation;
}

interface WorkerProc {
  queue: QueueName;
  child: ChildProcess;
  pid: number;
  startedAt: number;
  readyAt: number | null;
  retiringAt: number | null;
  forced: boolean;
  lastBeatAt: number | null;
  /** Its BullMQ worker ids, from its heartbeats. */
  consumers: string[];
  hung: boolean;
  killTimer?: NodeJS.Timeout;
  exited: Promise<void>;
  tail: string[];
}

interface QueueSlot {
  queue: QueueName;
  limits: QueueLimits;
  bull: Queue;
  state: ScalerState;
  procs: Set<WorkerProc>;
  /** Exits before reaching ready, in a row. */
  earlyExits: number;
  nextSpawnAt: number;
  respawnTimer?: NodeJS.Timeout;
  observation?: QueueObservation;
}

const TAIL_LINES = 30;

/** When a waiting job started to wait: its creation (plus any delay), or its last start for a retry. */
export function waitingSince(job: Pick<Job, "timestamp" | "delay" | "processedOn">): number {
  return Math.max(job.timestamp + (job.delay || 0), job.processedOn ?? 0);
}

export class Supervisor extends EventEmitter<SupervisorEvents> {
  private readonly redis: RedisClient;
  private readonly slots: QueueSlot[];
  private readonly command: WorkerCommand;
  private readonly spawnWorkers: boolean;
  private readonly forwardOutput: boolean;
  private readonly backoff: { baseMs: number; maxMs: number };
  private readonly measureTimeoutMs: number;
  private timer?: NodeJS.Timeout;
  private running = false;
  private stopping?: Promise<void>;
  private lastMeasuredAt = 0;
  private stopHeartbeatWatch?: () => void;
  private stalledChecks?: Promise<StalledChecks | undefined>;
  /** Hand-backs under way: stopping waits for them before it closes the connection. */
  private readonly handingBack = new Set<Promise<void>>();

  constructor(private readonly options: SupervisorOptions) {
    super();
    this.command = options.command ?? DEFAULT_WORKER_COMMAND;
    this.spawnWorkers = options.spawnWorkers ?? true;
    this.forwardOutput = options.forwardOutput ?? true;
    this.backoff = options.restartBackoff ?? { baseMs: 500, maxMs: 30_000 };
    this.measureTimeoutMs = options.measureTimeoutMs ?? Math.max(2_000, options.pollIntervalMs * 2);
    this.redis = createRedis(options.redisTarget, { name: "autoscaler" });
    this.slots = [...options.limits].map(([queue, limits]) => {
      const bull = new Queue(QUEUE_NAMES[queue], { connection: this.redis, prefix: options.queuePrefix(queue) });
      // Connection trouble surfaces as failed measurements (counted and logged there).
      bull.on("error", (err) => options.logger.debug({ queue, err: err.message }, "queue connection error"));
      return { queue, limits, bull, state: initialState(limits), procs: new Set(), earlyExits: 0, nextSpawnAt: 0 };
    });
  }

  /** Starts each queue's minimum at once, then measures and decides every poll interval. */
  start(): void {
    if (this.running) return;
    this.running = true;
    for (const slot of this.slots) this.reconcile(slot);
    void this.loop();
    const { hungAfterMs, stalledCheck, logger } = this.options;
    if (hungAfterMs && this.spawnWorkers) {
      this.stopHeartbeatWatch = watchHeartbeats({
        boundMs: hungAfterMs,
        procs: () => this.slots.flatMap((slot) => [...slot.procs]),
        onHung: (proc, silentMs) => this.killHung(proc, silentMs, hungAfterMs),
      });
    }
    if (stalledCheck) {
      this.stalledChecks = startStalledChecks(
        this.slots.map((s) => s.queue),
        { ...stalledCheck, redisTarget: this.options.redisTarget, queuePrefix: this.options.queuePrefix, logger },
      ).catch((err: unknown) => {
        logger.error({ err: errorMessage(err) }, "stalled-job checks could not start");
        return undefined;
      });
    }
  }

  /** True when every queue was measured within the last three poll intervals. */
  isHealthy(now = Date.now()): boolean {
    return this.running && now - this.lastMeasuredAt <= this.options.pollIntervalMs * 3 + this.measureTimeoutMs;
  }

  status(): QueueStatus[] {
    return this.slots.map((slot) => {
      const live = [...slot.procs].filter((p) => p.retiringAt === null);
      return {
        queue: slot.queue,
        limits: slot.limits,
        desired: slot.state.desired,
        running: live.length,
        ready: live.filter((p) => p.readyAt !== null).length,
        retiring: slot.procs.size - live.length,
        pids: live.map((p) => p.pid),
        observation: slot.observation,
      };
    });
  }

  /** Measures every queue, decides, and applies the decisions (the loop calls this each interval). */
  async tick(): Promise<void> {
    const results = await Promise.all(this.slots.map((slot) => this.tickQueue(slot)));
    if (results.every(Boolean)) this.lastMeasuredAt = Date.now();
  }

  /** Retires every process (each drains) and waits until all have exited. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  /**
   * Last resort when this process exits without stop() (an uncaught error): the workers
   * run in their own process groups, so nothing else would tell them. They drain as usual.
   */
  signalAll(signal: NodeJS.Signals = "SIGTERM"): void {
    for (const slot of this.slots) {
      for (const proc of slot.procs) {
        if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill(signal);
      }
    }
  }

  private async shutdown(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    this.stopHeartbeatWatch?.();
    const all = this.slots.flatMap((slot) => {
      clearTimeout(slot.respawnTimer);
      return [...slot.procs];
    });
    if (all.length) this.options.logger.info({ workers: all.length }, "autoscaler stopping: retiring every worker");
    for (const proc of all) if (proc.retiringAt === null) this.retire(proc, "stopping");
    await Promise.all(all.map((p) => p.exited));
    await Promise.all(this.handingBack);
    await (await this.stalledChecks)?.close();
    // Shutting down: a queue whose Redis is gone has nothing left to close.
    await Promise.all(this.slots.map((slot) => slot.bull.close().catch(() => undefined)));
    this.redis.disconnect();
    this.updateGauges();
  }

  private async loop(): Promise<void> {
    if (!this.running) return;
    try {
      await this.tick();
    } catch (err) {
      this.options.logger.error({ err: errorMessage(err) }, "autoscaler tick failed");
    }
    if (this.running) this.timer = setTimeout(() => void this.loop(), this.options.pollIntervalMs);
  }

  private async tickQueue(slot: QueueSlot): Promise<boolean> {
    const { logger, metrics, policy } = this.options;
    let observation: QueueObservation;
    try {
      observation = await withTimeout(this.measure(slot), this.measureTimeoutMs, `measuring ${slot.queue}`);
    } catch (err) {
      metrics?.measureErrors.inc({ queue: slot.queue });
      logger.warn({ queue: slot.queue, err: errorMessage(err) }, "autoscaler could not measure the queue; no change");
      this.reconcile(slot);
      return false;
    }
    if (!this.running) return false;
    slot.observation = observation;
    metrics?.backlog.set({ queue: slot.queue }, observation.backlog);
    metrics?.oldestWait.set({ queue: slot.queue }, observation.oldestWaitMs / 1000);
    if (!this.spawnWorkers) return true;

    const before = this.status().find((s) => s.queue === slot.queue);
    const running = before?.running ?? 0;
    const ready = before?.ready ?? 0;
    const decision = decide({ now: Date.now(), observation, ready, state: slot.state, limits: slot.limits, policy });
    const from = slot.state.desired;
    slot.state = decision.state;
    if (metrics) recordDecision(metrics, slot.queue, decision.action);
    const fields = {
      queue: slot.queue,
      action: decision.action,
      from,
      to: decision.desired,
      backlog: observation.backlog,
      oldestWaitS: Math.round(observation.oldestWaitMs / 100) / 10,
      running,
      ready,
      reason: decision.reason,
    };
    if (decision.action === "hold") logger.debug(fields, "autoscale hold");
    else logger.info(fields, `autoscale ${slot.queue}: ${from} -> ${decision.desired} worker processes`);
    this.emit("decision", { queue: slot.queue, observation, running, ready, decision });
    this.reconcile(slot);
    return true;
  }

  private async measure(slot: QueueSlot): Promise<QueueObservation> {
    const counts = await slot.bull.getJobCounts("wait", "prioritized", "delayed", "active");
    const backlog = (counts.wait ?? 0) + (counts.prioritized ?? 0) + (counts.delayed ?? 0) + (counts.active ?? 0);
    // The wait list's oldest end, and the prioritized job that runs next.
    const [oldest] = counts.wait ? await slot.bull.getJobs(["wait"], 0, 0, true) : [];
    const [next] = counts.prioritized ? await slot.bull.getJobs(["prioritized"], 0, 0, true) : [];
    const now = Date.now();
    const ages = [oldest, next].filter((j): j is Job => j !== undefined).map((j) => now - waitingSince(j));
    return { backlog, oldestWaitMs: Math.max(0, ...ages) };
  }

  /** Brings the queue's process count to what it wants: spawn the missing, retire the extra. */
  private reconcile(slot: QueueSlot): void {
    if (!this.running || !this.spawnWorkers) return;
    const live = [...slot.procs].filter((p) => p.retiringAt === null);
    const missing = slot.state.desired - live.length;
    if (missing > 0) {
      const wait = slot.nextSpawnAt - Date.now();
      if (wait > 0) {
        slot.respawnTimer ??= setTimeout(() => {
          slot.respawnTimer = undefined;
          this.reconcile(slot);
        }, wait);
      } else {
        for (let i = 0; i < missing; i++) this.spawnWorker(slot);
      }
    } else if (missing < 0) {
      // Starting processes hold no jobs: they go first; then the newest.
      const order = live.sort(
        (a, b) => Number(a.readyAt !== null) - Number(b.readyAt !== null) || b.startedAt - a.startedAt,
      );
      for (const proc of order.slice(0, -missing)) this.retire(proc, "scale-down");
    }
    this.updateGauges();
  }

  private spawnWorker(slot: QueueSlot): void {
    const { logger } = this.options;
    const child = spawn(this.command.file, this.command.args, {
      cwd: this.command.cwd,
      env: {
        ...(this.options.env ?? process.env),
        WORKER_QUEUES: slot.queue,
        // Several processes on one machine: none may claim a fixed port, and none seeds.
        METRICS_PORT: "0",
        SEED_ON_START: "false",
      },
      // The IPC channel is how a worker learns that this process is gone (see supervised.ts).
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      // Its own process group: a Ctrl-C in the terminal reaches the supervisor, which
      // retires the workers itself, rather than each worker at once (which would look
      // like crashes to replace).
      detached: true,
    });
    let resolveExited = () => {};
    const proc: WorkerProc = {
      queue: slot.queue,
      child,
      pid: child.pid ?? -1,
      startedAt: Date.now(),
      readyAt: null,
      retiringAt: null,
      forced: false,
      lastBeatAt: null,
      consumers: [],
      hung: false,
      exited: new Promise<void>((resolve) => (resolveExited = resolve)),
      tail: [],
    };
    slot.procs.add(proc);

    const onLine = (stream: NodeJS.WriteStream) => (line: string) => {
      proc.tail.push(line);
      if (proc.tail.length > TAIL_LINES) proc.tail.shift();
      if (this.forwardOutput) stream.write(`${line}\n`);
    };
    if (child.stdout) createInterface({ input: child.stdout }).on("line", onLine(process.stdout));
    if (child.stderr) createInterface({ input: child.stderr }).on("line", onLine(process.stderr));

    let finished = false;
    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      if (finished) return;
      finished = true;
      clearTimeout(proc.killTimer);
      slot.procs.delete(proc);
      this.onExit(slot, proc, code, signal);
      resolveExited();
    };
    child.on("message", (message: unknown) => {
      // A worker says it consumes over IPC, not in a log line, whose wording is for people.
      if (isReady(message)) {
        if (proc.readyAt === null) this.markReady(slot, proc);
        return;
      }
      if (!isHeartbeat(message)) return;
      proc.lastBeatAt = Date.now();
      proc.consumers = message.consumers;
    });
    child.once("exit", finish);
    child.once("error", (err) => {
      logger.error({ queue: slot.queue, err: err.message }, "worker process could not be started");
      if (child.pid === undefined) finish(null, null);
    });
    logger.info({ queue: slot.queue, pid: proc.pid }, "worker process started");
    this.emit("spawn", { queue: slot.queue, pid: proc.pid });
  }

  private markReady(slot: QueueSlot, proc: WorkerProc): void {
    proc.readyAt = Date.now();
    slot.earlyExits = 0;
    slot.nextSpawnAt = 0;
    this.updateGauges();
    this.emit("ready", { queue: slot.queue, pid: proc.pid, startupMs: proc.readyAt - proc.startedAt });
  }

  private retire(proc: WorkerProc, why: "scale-down" | "stopping"): void {
    const { logger, metrics, retireTimeoutMs } = this.options;
    proc.retiringAt = Date.now();
    logger.info({ queue: proc.queue, pid: proc.pid, why }, "retiring worker process: it drains its active jobs");
    proc.child.kill("SIGTERM");
    proc.killTimer = setTimeout(() => {
      if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
      proc.forced = true;
      metrics?.forcedKills.inc({ queue: proc.queue });
      logger.warn(
        { queue: proc.queue, pid: proc.pid, retireTimeoutMs },
        "worker process did not exit in time: killed; its active jobs go back to wait",
      );
      proc.child.kill("SIGKILL");
    }, retireTimeoutMs);
    this.emit("retire", { queue: proc.queue, pid: proc.pid });
  }

  private killHung(proc: WorkerProc, silentMs: number, boundMs: number): void {
    const { logger, metrics } = this.options;
    proc.hung = true;
    metrics?.hungKills.inc({ queue: proc.queue });
    logger.error(
      { queue: proc.queue, pid: proc.pid, silentMs, boundMs },
      "worker process hung (no heartbeat): killed and replaced; its active jobs go back to wait",
    );
    this.emit("hung", { queue: proc.queue, pid: proc.pid, silentMs });
    proc.child.kill("SIGKILL");
  }

  private onExit(slot: QueueSlot, proc: WorkerProc, code: number | null, signal: NodeJS.Signals | null): void {
    const { logger, metrics } = this.options;
    const retired = proc.retiringAt !== null || !this.running;
    const exit: WorkerExit = {
      queue: slot.queue,
      pid: proc.pid,
      code,
      signal,
      retired,
      forced: proc.forced,
      hung: proc.hung,
    };
    if (retired) {
      exit.drainMs = proc.retiringAt === null ? undefined : Date.now() - proc.retiringAt;
      logger.info({ ...exit }, "worker process retired");
    } else {
      metrics?.replacements.inc({ queue: slot.queue });
      if (proc.readyAt === null) slot.earlyExits++;
      const delay =
        slot.earlyExits <= 1 ? 0 : Math.min(this.backoff.baseMs * 2 ** (slot.earlyExits - 2), this.backoff.maxMs);
      slot.nextSpawnAt = Date.now() + delay;
      logger.error(
        { ...exit, restartInMs: delay, output: proc.tail.slice(-10) },
        "worker process exited unasked: replacing it",
      );
      this.emit("crash", { ...exit, output: [...proc.tail] });
    }
    this.emit("exit", exit);
    const handing = this.handBack(slot, proc).finally(() => this.handingBack.delete(handing));
    this.handingBack.add(handing);
    this.reconcile(slot);
    this.updateGauges();
  }

  /** A gone process's jobs go back to wait now, not when their locks lapse (see hand-back.ts). */
  private async handBack(slot: QueueSlot, proc: WorkerProc): Promise<void> {
    const { logger } = this.options;
    try {
      const jobs = await handBackJobs(slot.bull, this.redis, proc.consumers, logger);
      if (jobs.length === 0) return;
      logger.warn({ queue: slot.queue, pid: proc.pid, jobs }, "jobs of a process that is gone: back to wait");
      this.emit("handBack", { queue: slot.queue, pid: proc.pid, jobs });
    } catch (err) {
      logger.warn({ queue: slot.queue, pid: proc.pid, err: errorMessage(err) }, "could not hand jobs back");
    }
  }

  private updateGauges(): void {
    const { metrics } = this.options;
    if (!metrics) return;
    for (const s of this.status()) {
      metrics.desired.set({ queue: s.queue }, this.spawnWorkers ? s.desired : 0);
      metrics.running.set({ queue: s.queue }, s.running);
      metrics.ready.set({ queue: s.queue }, s.ready);
      metrics.retiring.set({ queue: s.queue }, s.retiring);
    }
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
