/**
 * The jobs of a worker process that is gone (its exit seen: crashed, killed as hung or
 * for not retiring in time) go back to wait at once, rather than when their locks lapse
 * (JOB_LOCK_MS) and a stalled check next runs. Only jobs whose lock token is still one
 * of that process's are moved, by BullMQ's own token-checked script: a lock that lapsed
 * and was taken by another worker since is left alone.
 */
import type { Queue } from "bullmq";
import type { RedisClient } from "@oms/shared";
import type { Logger } from "@oms/shared";
import { errorMessage } from "@oms/shared";

/** Most active jobs looked at per exit: more than any process holds at once. */
const ACTIVE_SCAN = 1_000;

/** Moves the active jobs locked by `consumers` (BullMQ worker ids) back to wait; returns their ids. */
export async function handBackJobs(
  queue: Queue,
  redis: RedisClient,
  consumers: string[],
  logger: Logger,
): Promise<string[]> {
  if (consumers.length === 0) return [];
  const active = await queue.getActive(0, ACTIVE_SCAN - 1);
  const handed: string[] = [];
  for (const job of active) {
    if (!job.id) continue;
    const token = await redis.get(`${queue.toKey(job.id)}:lock`);
    if (!token || !consumers.some((id) => token.startsWith(`${id}:`))) continue;
    try {
      await job.moveToWait(token);
      handed.push(job.id);
    } catch (err) {
      // Its state changed meanwhile (the lock lapsed, the job finished): not ours to move.
      logger.debug({ queue: queue.name, jobId: job.id, err: String(err) }, "job not handed back");
    }
  }
  return handed;
}

/** handBackJobs for a gone process, logged; never throws (a failed hand-back leaves the stalled check to do it). */
export async function handBackProcessJobs(
  queue: Queue,
  redis: RedisClient,
  proc: { queue: string; pid: number; consumers: string[] },
  logger: Logger,
): Promise<string[]> {
  try {
    const jobs = await handBackJobs(queue, redis, proc.consumers, logger);
    if (jobs.length)
      logger.warn({ queue: proc.queue, pid: proc.pid, jobs }, "jobs of a process that is gone: back to wait");
    return jobs;
  } catch (err) {
    logger.warn({ queue: proc.queue, pid: proc.pid, err: errorMessage(err) }, "could not hand jobs back");
    return [];
  }
}
