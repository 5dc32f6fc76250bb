/**
 * The worker processes of a chaos run: three slots, each respawned after its worker
 * dies, some armed to SIGKILL themselves after a chosen saga step (CHAOS_CRASH_AT), and
 * an autoscaler running one checkout worker of its own beside them.
 */
import { errorMessage } from "@oms/shared";
import type { Checkpoint as CrashPoint } from "@oms/workers";
import { chaosCrashCounter } from "./crash-hook";
import { sleep } from "./infra";
import { StartError, type ServiceProcess } from "./processes";
import type { Random } from "./prng";
import type { ChaosSystem } from "./system";
import type { Timeline } from "./timeline";

export const WORKERS = 3;

export interface WorkerSlot {
  index: number;
  proc?: ServiceProcess;
  generation: number;
  crashStep?: CrashPoint;
  respawning?: Promise<void>;
  frozen?: boolean;
}

export class WorkerPool {
  readonly slots: WorkerSlot[] = [];
  /** The autoscaler and the worker processes it runs (one checkout worker). */
  autoscaler?: ServiceProcess;
  private autoscalerGeneration = 0;
  /** Steps still to arm a worker for, in order. */
  private stepQueue: CrashPoint[];
  private readonly stepCrashes = new Map<CrashPoint, number>();

  constructor(
    private readonly system: ChaosSystem,
    private readonly timeline: Timeline,
    private readonly rng: Random,
    private readonly steps: CrashPoint[],
  ) {
    this.stepQueue = [...steps];
  }

  async start(): Promise<void> {
    for (let i = 0; i < WORKERS; i++) this.slots.push({ index: i, generation: 0 });
    await Promise.all(this.slots.map((slot) => this.startSlot(slot, this.stepQueue.shift())));
    await this.startAutoscaler();
  }

  /** Until every slot's pending respawn is done. */
  async respawns(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.respawning));
  }

  /** The steps no worker has crashed at yet. */
  uncrashedSteps(): CrashPoint[] {
    return this.steps.filter((s) => !this.stepCrashes.has(s));
  }

  /** Replaces unarmed workers with ones armed for each of `missing` no worker is armed for yet. */
  async armFor(missing: CrashPoint[]): Promise<void> {
    const armed = new Set(this.slots.map((s) => s.crashStep).filter((s) => s !== undefined));
    for (const step of missing) {
      if (armed.has(step)) continue;
      this.stepQueue = this.stepQueue.filter((s) => s !== step);
      const slot = this.slots.find((s) => !s.crashStep);
      if (!slot?.proc) break;
      this.timeline.event(`arming a worker for step "${step}" (not reached during the load)`);
      const old = slot.proc;
      slot.proc = undefined;
      await old.stop(3_000);
      await this.startSlot(slot, step);
      armed.add(step);
    }
  }

  /** The autoscaler runs one checkout worker of its own beside the slots' workers. */
  async startAutoscaler(): Promise<void> {
    this.autoscalerGeneration++;
    const name = `autoscaler-g${this.autoscalerGeneration}`;
    try {
      this.autoscaler = await this.system.spawn(name, "apps/workers/src/autoscale/main.ts", {
        ...this.system.env(),
        AUTOSCALE_WORKERS: "checkout=1:1",
        AUTOSCALE_METRICS_PORT: "0",
        AUTOSCALE_POLL_INTERVAL_MS: "1000",
      });
      this.timeline.event(`${name} started (pid ${this.autoscaler.child.pid})`);
    } catch (err) {
      this.timeline.notes.push(`${name} could not be started: ${errorMessage(err)}`);
    }
  }

  /** A worker process consumes once it beats in the heartbeat set (its ids begin with its pid). */
  async workerBeats(pid: number): Promise<boolean> {
    const { system } = this;
    const beating = await system.redis().zrangebyscore(system.keys.workerHeartbeats, Date.now() - 10_000, "+inf");
    return beating.some((id) => id.startsWith(`${pid}-`));
  }

  private async startSlot(slot: WorkerSlot, crashStep: CrashPoint | undefined): Promise<void> {
    const { system, timeline } = this;
    for (let attempt = 1; ; attempt++) {
      slot.generation++;
      slot.crashStep = crashStep;
      const name = `worker${slot.index}-g${slot.generation}${crashStep ? `-crash-at-${crashStep}` : ""}`;
      try {
        const env = system.env();
        if (crashStep) {
          env.CHAOS_CRASH_AT = crashStep;
          // The step's crash counter is shared by every worker, and every job that reaches the
          // step counts (several may, side by side, before the SIGKILL lands): a small limit
          // would disarm later workers. Each armed worker dies once anyway, and is replaced by
          // an unarmed one (or one armed for the next step), so the limit only has to be high.
          await system.redis().del(chaosCrashCounter(system.keys, crashStep));
          env.CHAOS_CRASH_LIMIT = "1000000";
        }
        const proc = await system.spawn(
          name,
          crashStep ? "test/chaos/worker-entry.ts" : "apps/workers/src/main.ts",
          env,
        );
        slot.proc = proc;
        timeline.event(`${name} started (pid ${proc.child.pid}) in ${((proc.readyAt ?? 0) - proc.startedAt) / 1000}s`);
        void proc.exited.then((info) => this.onWorkerExit(slot, proc, info.code, info.signal));
        return;
      } catch (err) {
        const proc = err instanceof StartError ? err.proc : undefined;
        const info = proc ? await proc.exited : undefined;
        if (crashStep && proc && info?.signal === "SIGKILL" && !proc.signalledByUs) {
          // Workers take jobs before they log that they started: this one reached its step first.
          timeline.deaths.push(Date.now());
          timeline.faultOver(`a worker's crash after "${crashStep}"`);
          this.countStepCrash(crashStep, proc);
          crashStep = this.stepQueue.shift();
          continue;
        }
        timeline.count("worker_start_failures");
        timeline.event(`${name} failed to start: ${errorMessage(err)}`);
        if (system.stopping) return;
        if (attempt >= 6) {
          timeline.notes.push(`worker slot ${slot.index} could not be started: ${errorMessage(err)}`);
          return;
        }
        await sleep(1_000);
      }
    }
  }

  private countStepCrash(step: CrashPoint, proc: ServiceProcess): void {
    this.stepCrashes.set(step, (this.stepCrashes.get(step) ?? 0) + 1);
    this.timeline.count(`step_crash:${step}`);
    this.timeline.event(
      `${proc.name} killed itself after step "${step}"${proc.selfKillLogged ? "" : " (no log line seen)"}`,
    );
  }

  private onWorkerExit(slot: WorkerSlot, proc: ServiceProcess, code: number | null, signal: string | null): void {
    const { timeline } = this;
    if (this.system.stopping || slot.proc !== proc) return;
    let next = slot.crashStep;
    if (signal === "SIGKILL" && !proc.signalledByUs) {
      const step = slot.crashStep;
      timeline.faultOver(step ? `a worker's crash after "${step}"` : "a worker's SIGKILL");
      if (step) {
        this.countStepCrash(step, proc);
      } else {
        timeline.count("unexplained_sigkill");
        timeline.notes.push(`${proc.name} died of a SIGKILL nobody sent (out of memory?)`);
      }
      next = this.stepQueue.shift();
    } else if (!proc.signalledByUs) {
      timeline.count("unexpected_worker_exits");
      timeline.notes.push(`${proc.name} exited by itself (code ${code}, signal ${signal}); see ${proc.logPath}`);
      timeline.event(`${proc.name} exited by itself (code ${code}, signal ${signal})`);
    }
    const delay = this.rng.fork(`respawn-${proc.name}`).int(300, 1_500);
    slot.respawning = sleep(delay)
      .then(() => (this.system.stopping ? undefined : this.startSlot(slot, next)))
      .finally(() => (slot.respawning = undefined));
  }
}
