/**
 * Faults on worker processes and what they must show: a worker SIGKILLed mid-job, one
 * frozen past its job lock (another worker must take its jobs back meanwhile), and the
 * autoscaler SIGKILLed (its workers must exit by themselves).
 */
import { killAutoscaler } from "./autoscaler";
import type { Fault } from "./fault-plan";
import { freezeWorker } from "./freeze";
import { sleep } from "./infra";
import type { CheckResult } from "./invariants";
import type { ChaosSystem } from "./system";
import type { Timeline } from "./timeline";
import type { WorkerPool } from "./worker-pool";

type FaultOf<K extends Fault["kind"]> = Extract<Fault, { kind: K }>;

export class WorkerFaults {
  /** Frozen workers' jobs that no other worker took back while they were frozen. */
  private readonly freezeFindings: string[] = [];
  private freezeJobsChecked = 0;
  private readonly autoscalerFindings: string[] = [];
  private autoscalerChildrenChecked = 0;

  constructor(
    private readonly system: ChaosSystem,
    private readonly pool: WorkerPool,
    private readonly timeline: Timeline,
  ) {}

  /** The checks of these faults, for the run's report. */
  checks(): CheckResult[] {
    return [
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
    ];
  }

  async kill(fault: FaultOf<"kill_worker">): Promise<void> {
    const { pool, timeline } = this;
    // All workers may be down (crashed at their steps, restarting): wait for one, bounded.
    const deadline = Date.now() + 60_000;
    while (!pool.slots.some((s) => s.proc?.isAlive()) && Date.now() < deadline && !this.system.stopping)
      await sleep(250);
    const alive = pool.slots.filter((s) => s.proc?.isAlive() && !s.frozen);
    const slot = alive.find((s) => s.index === fault.slot) ?? alive[0];
    if (!slot?.proc) {
      timeline.count("kill_skipped_no_worker");
      return;
    }
    // A worker that just started has taken no job yet: give it a moment to be mid-job.
    await sleep(Math.max(0, (slot.proc.readyAt ?? 0) + 1_500 - Date.now()));
    // Frozen meanwhile: the freeze decides how that worker ends.
    if (!slot.proc?.isAlive() || slot.frozen) {
      timeline.count("kill_skipped_no_worker");
      return;
    }
    timeline.event(`SIGKILL ${slot.proc.name}`);
    timeline.deaths.push(Date.now());
    slot.proc.kill("SIGKILL");
    timeline.faultOver("a worker's SIGKILL");
    timeline.count("worker_sigkill");
  }

  /** SIGSTOPs a live worker past its job lock; another worker must take its jobs back meanwhile. */
  async freeze(fault: FaultOf<"freeze_worker">): Promise<void> {
    const { pool, timeline } = this;
    const deadline = Date.now() + 30_000;
    const pick = () => {
      // One freeze at a time, and another live worker must be there to run the stalled
      // check (two overlapping freezes plus a kill left none: seed 2852381652).
      if (pool.slots.some((s) => s.frozen)) return undefined;
      const alive = pool.slots.filter((s) => s.proc?.isAlive() && !s.frozen);
      if (alive.length < 2) return undefined;
      return alive.find((s) => s.index === fault.slot) ?? alive[0];
    };
    let slot = pick();
    while (!slot && Date.now() < deadline && !this.system.stopping) {
      await sleep(250);
      slot = pick();
    }
    const proc = slot?.proc;
    const queue = this.system.checkoutQueue;
    if (!slot || !proc || !queue) {
      timeline.count("freeze_skipped_no_worker");
      return;
    }
    slot.frozen = true;
    timeline.event(`SIGSTOP ${proc.name} for ${fault.frozenMs} ms, then ${fault.endWith}`);
    const start = Date.now();
    const env = this.system.env();
    try {
      const outcome = await freezeWorker(proc, {
        frozenMs: fault.frozenMs,
        endWith: fault.endWith,
        queue,
        redis: this.system.redis(),
        stalledSince: (jobId, since) => timeline.stalledSince(jobId, since),
        othersAlive: () =>
          pool.slots.some((s) => s !== slot && !s.frozen && s.proc?.isAlive() && s.proc.readyAt !== undefined) ||
          Boolean(pool.autoscaler?.isAlive()),
      });
      timeline.faultOver("a worker's freeze", outcome.stoppedAt);
      if (!outcome.held.length) timeline.notes.push(`${proc.name} held no checkout job when it was frozen`);
      if (outcome.endedWith === "SIGKILL") timeline.deaths.push(Date.now());
      timeline.count("worker_freeze");
      timeline.count(`worker_freeze_then_${outcome.endedWith}`);
      timeline.count("frozen_worker_jobs", outcome.held.length);
      // A lock, then BullMQ marks the job stalled on one check and moves it on the next.
      const needMs = Number(env.JOB_LOCK_MS) + 3 * Number(env.STALLED_CHECK_MS);
      if (outcome.stuck.length && outcome.coveredMs < needMs) {
        // Every other worker died (crashed at its step, killed) and the replacements were still
        // starting: nobody ran a stalled check. Reported; not a fault of the product.
        timeline.notes.push(
          `${proc.name} frozen while no other worker ran for ${needMs} ms in a row (longest ${outcome.coveredMs} ms): its ${outcome.stuck.length} jobs came back after the freeze`,
        );
        timeline.count("freeze_uncovered");
        return;
      }
      this.freezeJobsChecked += Math.max(1, outcome.held.length);
      for (const id of outcome.stuck)
        this.freezeFindings.push(
          `job ${id} of frozen ${proc.name} was still active without its lock after ${fault.frozenMs} ms, never re-delivered (JOB_LOCK_MS ${env.JOB_LOCK_MS}, STALLED_CHECK_MS ${env.STALLED_CHECK_MS})`,
        );
      timeline.event(
        `${proc.name} ${outcome.endedWith === "SIGCONT" ? "resumed" : "SIGKILLed"} after ${Date.now() - start} ms; it held ${outcome.held.length} checkout jobs, ${outcome.stuck.length} not taken back`,
      );
    } finally {
      slot.frozen = false;
    }
  }

  /** SIGKILLs the autoscaler; its workers must exit by themselves; then a new one starts. */
  async killAutoscaler(fault: FaultOf<"kill_autoscaler">): Promise<void> {
    const { pool, timeline } = this;
    const proc = pool.autoscaler;
    if (!proc?.isAlive()) {
      timeline.count("autoscaler_kill_skipped");
      return;
    }
    const boundMs = 15_000;
    timeline.event(`SIGKILL ${proc.name}; its workers must exit within ${boundMs} ms`);
    const outcome = await killAutoscaler(proc, boundMs, (pid) => pool.workerBeats(pid));
    timeline.deaths.push(Date.now());
    timeline.faultOver("an autoscaler's SIGKILL");
    timeline.count("autoscaler_sigkill");
    this.autoscalerChildrenChecked += Math.max(1, outcome.children.length);
    if (!outcome.children.length) this.autoscalerFindings.push(`${proc.name} ran no worker when it was killed`);
    for (const pid of outcome.outlived)
      this.autoscalerFindings.push(`worker pid ${pid} of ${proc.name} still ran ${boundMs} ms after it was killed`);
    timeline.event(
      `${proc.name}'s ${outcome.children.length} workers exited ${outcome.lastExitMs} ms after it; ${outcome.outlived.length} outlived it`,
    );
    await sleep(fault.downMs);
    if (!this.system.stopping) await pool.startAutoscaler();
  }
}
