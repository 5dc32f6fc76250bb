import type { Queue } from "bullmq";
import type { ErrorCode } from "@oms/shared";

export type JobOutcome =
  { kind: "completed"; value: unknown } | { kind: "failed"; reason: string; code?: ErrorCode } | { kind: "timeout" };

interface Waiter {
  settle(outcome: JobOutcome): void;
}

const POLL_MS = 250;

/**
 * Requests waiting for their jobs' results: one map lookup per result, one timer per
 * waiting request. Results arrive through `settle` (from this API's reply key, or from
 * a shared QueueEvents); a request that joined a job another process started polls it.
 */
export class JobResults {
  private readonly waiters = new Map<string, Set<Waiter>>();

  constructor(private readonly queue: Queue) {}

  /**
   * Register before the job is added, so its result cannot be missed. A job whose
   * result goes elsewhere (joined from another request) is polled with `poll`.
   */
  wait(jobId: string, timeoutMs: number, poll = false): Promise<JobOutcome> {
    return new Promise<JobOutcome>((resolve) => {
      let poller: NodeJS.Timeout | undefined;
      const waiter: Waiter = {
        settle: (outcome) => {
          clearTimeout(timer);
          clearInterval(poller);
          this.remove(jobId, waiter);
          resolve(outcome);
        },
      };
      const timer = setTimeout(() => waiter.settle({ kind: "timeout" }), timeoutMs);
      let set = this.waiters.get(jobId);
      if (!set) this.waiters.set(jobId, (set = new Set()));
      set.add(waiter);
      if (poll) {
        void this.settleIfFinished(jobId);
        poller = setInterval(() => void this.settleIfFinished(jobId), POLL_MS);
      }
    });
  }

  settle(jobId: string, outcome: JobOutcome): void {
    const set = this.waiters.get(jobId);
    if (!set) return;
    for (const waiter of [...set]) waiter.settle(outcome);
  }

  private async settleIfFinished(jobId: string): Promise<void> {
    // Polled again on the next tick, and the waiter's deadline answers if it never succeeds.
    const job = await this.queue.getJob(jobId).catch(() => undefined);
    if (!job?.finishedOn) return;
    // finishedOn is only set once a job will not run again: out of attempts, or unrecoverable.
    if (job.failedReason) {
      this.settle(jobId, { kind: "failed", reason: job.failedReason });
    } else if (job.returnvalue !== undefined && job.returnvalue !== null) {
      this.settle(jobId, { kind: "completed", value: job.returnvalue });
    }
  }

  private remove(jobId: string, waiter: Waiter): void {
    const set = this.waiters.get(jobId);
    if (!set) return;
    set.delete(waiter);
    if (set.size === 0) this.waiters.delete(jobId);
  }
}
