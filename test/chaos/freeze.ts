/**
 * Freezing a worker: SIGSTOP for longer than its job lock, so its jobs' locks lapse
 * while the process still "has" them, then SIGCONT (or SIGKILL, a hung worker that is
 * given up on). Its checkout jobs must be taken back by another worker's stalled-job
 * check while it is frozen, not when it wakes up.
 */
import { readFileSync } from "node:fs";
import type { Queue } from "bullmq";
import type { RedisClient } from "@oms/shared";
import { sleep } from "./infra";
import type { ServiceProcess } from "./processes";

export interface FreezeOutcome {
  /** Checkout jobs the frozen worker held (their lock lapsed during the freeze). */
  held: string[];
  /** Of those, the ones still active, lock gone, never re-delivered when the freeze ended. */
  stuck: string[];
  /**
   * The longest stretch of the freeze during which another worker process was running
   * (and so running BullMQ's stalled check). Shorter than a lock plus a few checks, and
   * nobody could have taken the jobs back: the check does not apply.
   */
  coveredMs: number;
  endedWith: "SIGCONT" | "SIGKILL";
  stoppedAt: number;
}

/** The process state letter from /proc (T: stopped), or undefined when it is gone. */
function procState(pid: number | undefined): string | undefined {
  if (pid === undefined) return undefined;
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /s, "")[0];
  } catch {
    return undefined;
  }
}

export async function freezeWorker(
  proc: ServiceProcess,
  options: {
    frozenMs: number;
    endWith: "SIGCONT" | "SIGKILL";
    queue: Queue;
    redis: RedisClient;
    /** True when BullMQ reported the job stalled (re-delivered) since `sinceMs`. */
    stalledSince: (jobId: string, sinceMs: number) => boolean;
    /** True while another worker process (a slot's, the autoscaler's) runs. */
    othersAlive: () => boolean;
  },
): Promise<FreezeOutcome> {
  const { queue, redis } = options;
  // A worker frozen while idle proves nothing: wait (bounded) for checkouts in flight.
  const busyBy = Date.now() + 6_000;
  while ((await queue.getActiveCount().catch(() => 0)) < 3 && Date.now() < busyBy) await sleep(100);
  const running = (await queue.getJobs(["active"], 0, 1_000)).map((j) => j.id).filter((id) => id !== undefined);
  const startMs = Date.now();
  // Sent straight to the child: a stop is not an exit, so the slot's exit bookkeeping stays as it is.
  proc.child.kill("SIGSTOP");
  const coveredMs = await watchCoverage(options.frozenMs, options.othersAlive);

  // Judged before it wakes: once resumed, the worker itself would end these jobs.
  const held: string[] = [];
  const stuck: string[] = [];
  for (const id of running) {
    const job = await queue.getJob(id).catch(() => undefined);
    const redelivered = options.stalledSince(id, startMs) || (job?.stalledCounter ?? 0) > 0;
    if (redelivered) {
      held.push(id);
      continue;
    }
    if (!job) continue;
    const state = await job.getState().catch(() => "unknown");
    const locked = (await redis.exists(`${queue.toKey(id)}:lock`).catch(() => 1)) === 1;
    // Active with no lock: the frozen worker's job, which nobody took back.
    if (state === "active" && !locked) {
      held.push(id);
      stuck.push(id);
    }
  }

  let endedWith = options.endWith;
  if (endedWith === "SIGCONT") {
    proc.child.kill("SIGCONT");
    await sleep(500);
    if (procState(proc.child.pid) === "T") {
      endedWith = "SIGKILL";
    }
  }
  if (endedWith === "SIGKILL") proc.kill("SIGKILL");
  return { held, stuck, endedWith, stoppedAt: startMs, coveredMs };
}

/** Waits `ms`, sampling `alive`; returns the longest stretch it stayed true. */
async function watchCoverage(ms: number, alive: () => boolean): Promise<number> {
  const end = Date.now() + ms;
  let longest = 0;
  let since: number | undefined;
  while (Date.now() < end) {
    const now = Date.now();
    if (alive()) since ??= now;
    else since = undefined;
    if (since !== undefined) longest = Math.max(longest, now - since);
    await sleep(Math.min(200, Math.max(0, end - now)));
  }
  return longest;
}
