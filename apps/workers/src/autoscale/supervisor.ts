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
import { EventEmitter } from "node:events";
import { createRedis, errorMessage, logFailure, withTimeout, type RedisClient } from "@oms/shared";
import { decide, logDecision, type QueueObservation } from "./decision";
import { recordDecision, setProcessGauges } from "./metrics";
import { watchHeartbeats } from "./hung";
import { handBackProcessJobs } from "./hand-back";
import { createQueueSlot, delayRespawn, nextMetricsPort, retireFirst, slotStatus, type QueueSlot } from "./queue-slot";
import { measureQueue } from "./measure";
import { startStalledChecks, type StalledChecks } from "./stalled-check";
import type { QueueStatus, SupervisorEvents, SupervisorOptions, WorkerCommand, WorkerExit } from "./supervisor-types";
import { DEFAULT_WORKER_COMMAND, retireWorkerProcess, spawnWorkerProcess, type WorkerProc } from "./worker-process";

export type * from "./supervisor-types";
export { DEFAULT_WORKER_COMMAND } from "./worker-process";
export { waitingSince } from "./measure";

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
    this.slots = [...options.limits].map(([queue, limits]) =>
      createQueueSlot(queue, limits, this.redis, options.queuePrefix, options.logger),
    );
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
    return this.slots.map(slotStatus);
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
        proc.child.signal(signal);
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
    const unclosed = logFailure(this.options.logger, "queue not closed", "debug");
    await Promise.all(this.slots.map((slot) => slot.bull.close().catch(unclosed)));
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
      observation = await withTimeout(measureQueue(slot.bull), this.measureTimeoutMs, `measuring ${slot.queue}`);
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
    logDecision(logger, { queue: slot.queue, from, decision, observation, running, ready });
    this.emit("decision", { queue: slot.queue, observation, running, ready, decision });
    this.reconcile(slot);
    return true;
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
      for (const proc of retireFirst(live).slice(0, -missing)) this.retire(proc, "scale-down");
    }
    this.updateGauges();
  }

  private spawnWorker(slot: QueueSlot): void {
    const proc = spawnWorkerProcess({
      queue: slot.queue,
      command: this.command,
      env: this.options.env ?? process.env,
      metricsPort: nextMetricsPort(this.slots, this.options.workerMetrics?.firstPort ?? 0),
      forwardOutput: this.forwardOutput,
      logger: this.options.logger,
      onReady: (p) => this.markReady(slot, p),
      onExit: (p, code, signal) => {
        slot.procs.delete(p);
        this.onExit(slot, p, code, signal);
      },
    });
    slot.procs.add(proc);
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
    retireWorkerProcess(proc, {
      why,
      timeoutMs: retireTimeoutMs,
      logger,
      onForced: () => metrics?.forcedKills.inc({ queue: proc.queue }),
    });
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
    proc.child.signal("SIGKILL");
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
      const delay = delayRespawn(slot, proc, this.backoff);
      logger.error(
        { ...exit, restartInMs: delay, output: proc.child.tail().slice(-10) },
        "worker process exited unasked: replacing it",
      );
      this.emit("crash", { ...exit, output: proc.child.tail() });
    }
    this.emit("exit", exit);
    const handing = this.handBack(slot, proc).finally(() => this.handingBack.delete(handing));
    this.handingBack.add(handing);
    this.reconcile(slot);
    this.updateGauges();
  }

  /** A gone process's jobs go back to wait now, not when their locks lapse (see hand-back.ts). */
  private async handBack(slot: QueueSlot, proc: WorkerProc): Promise<void> {
    const jobs = await handBackProcessJobs(slot.bull, this.redis, proc, this.options.logger);
    if (jobs.length) this.emit("handBack", { queue: slot.queue, pid: proc.pid, jobs });
  }

  private updateGauges(): void {
    if (this.options.metrics) setProcessGauges(this.options.metrics, this.status(), this.spawnWorkers);
  }
}
