import type { Job } from "bullmq";
import { stringField, type JobReply } from "@oms/shared";
import type { WorkerDeps } from "./deps";

/** A reply nobody pops (its API process died) goes away after this. */
const REPLY_TTL_MS = 60_000;

/** Pushes a job's result to the reply key of the API process waiting for it, if any. */
export async function pushReply(deps: Pick<WorkerDeps, "redis">, job: Job, reply: JobReply): Promise<void> {
  const replyTo = stringField(job.data, "replyTo");
  if (replyTo === undefined) return;
  // Two commands, not MULTI: with auto-pipelining they leave in one write, in order, and
  // ioredis builds a Pipeline object per MULTI that copies every script BullMQ defines on
  // the connection (7% of a worker's CPU in the wide-catalog benchmark).
  await Promise.all([deps.redis.rpush(replyTo, JSON.stringify(reply)), deps.redis.pexpire(replyTo, REPLY_TTL_MS)]);
}

/** Wraps a processor so its result also goes to the waiting API process. */
export function replying<T>(
  deps: Pick<WorkerDeps, "redis">,
  queue: JobReply["queue"],
  process: (job: Job, token?: string) => Promise<T>,
) {
  return async (job: Job, token?: string): Promise<T> => {
    const value = await process(job, token);
    await pushReply(deps, job, { queue, jobId: String(job.id), ok: true, value });
    return value;
  };
}
