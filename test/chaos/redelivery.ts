/**
 * Duplicate delivery as a fault: checkout jobs are delivered a second time, a finished
 * or running job's payload added again under a new job id (same order id). Only orders
 * MySQL knows are chosen, so each replay is of a checkout that really happened.
 */
import { z } from "zod";
import { CheckoutJob } from "@oms/shared";
import { sleep } from "./infra";
import type { Random } from "./prng";
import type { ChaosSystem } from "./system";
import type { Timeline } from "./timeline";

const Ids = z.array(z.string());

export class Redelivery {
  private readonly redelivered = new Set<string>();
  private batches: Promise<void> = Promise.resolve();

  constructor(
    private readonly system: ChaosSystem,
    private readonly timeline: Timeline,
    private readonly rng: Random,
  ) {}

  /** Re-delivers `count` jobs (only finished ones when `only` says so), trying for up to `waitMs`. */
  redeliver(count: number, only?: "completed", waitMs = 120_000): Promise<void> {
    // One batch at a time, so two batches never pick the same job.
    const run = this.batches.then(async () => {
      // Early in a run (or just after Redis lost everything) nothing may have finished yet.
      const deadline = Date.now() + waitMs;
      let done = 0;
      while (done < count && Date.now() < deadline) {
        done += await this.redeliverSome(count - done, only).catch(() => 0);
        if (done < count) await sleep(1_000);
      }
      if (done < count) this.timeline.count("redeliver_short", count - done);
    });
    this.batches = run;
    return run;
  }

  /** Re-adds up to `count` jobs, half finished and half running when there are both. */
  private async redeliverSome(count: number, only?: "completed"): Promise<number> {
    const queue = this.system.checkoutQueue;
    if (!queue) return 0;
    const eligible = async (state: "completed" | "active") => {
      // A checkout job's data, read back from Redis through its schema; other jobs are skipped.
      const jobs = (await queue.getJobs([state], 0, 1_000)).flatMap((job) => {
        const data = CheckoutJob.safeParse(job.data);
        if (!job.id || job.id.startsWith("redeliver-") || !data.success) return [];
        return this.redelivered.has(data.data.orderId) ? [] : [{ job, data: data.data }];
      });
      const orderIds = jobs.map((j) => j.data.orderId);
      const known = new Set(
        orderIds.length
          ? Ids.parse(await this.system.db()("orders").whereIn("order_id", orderIds).pluck("order_id"))
          : [],
      );
      // Only checkouts MySQL knows: a replay of one that really happened.
      return jobs
        .filter((j) => known.has(j.data.orderId))
        .sort((a, b) => ((a.job.id ?? "") < (b.job.id ?? "") ? -1 : 1));
    };
    const finished = await eligible("completed");
    const running = only ? [] : await eligible("active");
    const rng = this.rng.fork(`redeliver-${this.redelivered.size}`);
    const fromFinished = Math.min(finished.length, Math.max(count - running.length, Math.ceil(count / 2)));
    const chosen = [
      ...rng.sample(finished, fromFinished).map((job) => ({ job, state: "finished" })),
      ...rng.sample(running, count - fromFinished).map((job) => ({ job, state: "running" })),
    ];
    for (const {
      job: { job, data },
      state,
    } of chosen) {
      this.redelivered.add(data.orderId);
      await queue.add("checkout", data, { jobId: `redeliver-${this.redelivered.size}-${data.orderId}` });
      this.timeline.count("redelivered_jobs");
      this.timeline.count(`redelivered_${state}`);
      this.timeline.event(`re-delivered ${state} checkout of order ${data.orderId} (job ${job.id})`);
    }
    return chosen.length;
  }
}
