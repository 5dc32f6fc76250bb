import { DelayedError, type Job } from "bullmq";
import { CacheNotReadyError } from "@oms/inventory";
import { errorCode, isDbUnavailable, isErrorCode, isRedisUnavailable, type ErrorCode } from "@oms/shared";

/**
 * MySQL or Redis could not be reached, or the stock cache is still being rebuilt after
 * Redis lost its data (which waits on MySQL): the job is not at fault, its dependency is.
 */
export function isDependencyDown(err: unknown): boolean {
  return isDbUnavailable(err) || isRedisUnavailable(err) || err instanceof CacheNotReadyError;
}

/** The code a job's failure crosses to the API with, so the API never reads the message. */
export function failureCode(err: unknown): ErrorCode {
  const own = errorCode(err);
  if (isErrorCode(own)) return own;
  return isDependencyDown(err) ? "DEPENDENCY_UNAVAILABLE" : "INTERNAL";
}

/**
 * Puts the job back as delayed, to run again after about `retryMs` (jittered so the
 * jobs an outage caught do not all return at once), and ends this delivery with
 * BullMQ's DelayedError. The move skips the attempt count: a dependency being down
 * must not use up a job's life, however long the outage lasts.
 */
export async function retryAfterOutage(job: Job, token: string | undefined, retryMs: number): Promise<never> {
  if (token === undefined) throw new Error(`job ${job.id} has no lock token to delay it with`);
  await job.moveToDelayed(Date.now() + Math.round(retryMs * (0.5 + Math.random() / 2)), token);
  throw new DelayedError();
}
