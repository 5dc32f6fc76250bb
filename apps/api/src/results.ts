import type { Queue, QueueEvents } from "bullmq";

export type JobOutcome =
  { kind: "completed"; value: unknown } | { kind: "failed"; reason: string } | { kind: "timeout" };

interface Waiter {
  settle(outcome: JobOutcome): void;
}

/**
 * Waits for jobs' results through one shared QueueEvents per queue: one Redis stream
 * reader for all requests, one map lookup per event, and a timer per waiting request.
 */
export class JobResults {
  private readonly waiters = new Map<string, Set<Waiter>>();

  constructor(
    private readonly queue: Queue,
    events: QueueEvents,
  ) {
    events.on("completed", ({ jobId, returnvalue }) => this.settle(jobId, { kind: "completed", value: returnvalue }));
    events.on("failed", ({ jobId, failedReason }) => this.settle(jobId, { kind: "failed", reason: failedReason }));
  }

  get pending(): number {
    return this.waiters.size;
  }

  /**
   * Register before the job is added so its completion cannot be missed. When the job
   * may have finished already (joining someone else's job), pass `checkExisting`.
   */
  wait(jobId: string, timeoutMs: number, checkExisting = false): Promise<JobOutcome> {
    return new Promise<JobOutcome>((resolve) => {
      const waiter: Waiter = {
        settle: (outcome) => {
          clearTimeout(timer);
          this.remove(jobId, waiter);
          resolve(outcome);
        },
      };
      const timer = setTimeout(() => waiter.settle({ kind: "timeout" }), timeoutMs);
      let set = this.waiters.get(jobId);
      if (!set) this.waiters.set(jobId, (set = new Set()));
      set.add(waiter);
      if (checkExisting) void this.settleIfFinished(jobId);
    });
  }

  private async settleIfFinished(jobId: string): Promise<void> {
    const job = await this.queue.getJob(jobId).catch(() => undefined);
    if (!job) return;
    if (job.finishedOn && job.failedReason && job.attemptsMade >= (job.opts.attempts ?? 1)) {
      this.settle(jobId, { kind: "failed", reason: job.failedReason });
    } else if (job.finishedOn && job.returnvalue !== undefined && job.returnvalue !== null) {
      this.settle(jobId, { kind: "completed", value: job.returnvalue });
    }
  }

  private settle(jobId: string, outcome: JobOutcome): void {
    const set = this.waiters.get(jobId);
    if (!set) return;
    for (const waiter of [...set]) waiter.settle(outcome);
  }

  private remove(jobId: string, waiter: Waiter): void {
    const set = this.waiters.get(jobId);
    if (!set) return;
    set.delete(waiter);
    if (set.size === 0) this.waiters.delete(jobId);
  }
}
