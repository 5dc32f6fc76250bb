import type { Job, Queue } from "bullmq";
import type { QueueObservation } from "./decision";

/** When a waiting job started to wait: its creation (plus any delay), or its last start for a retry. */
export function waitingSince(job: Pick<Job, "timestamp" | "delay" | "processedOn">): number {
  return Math.max(job.timestamp + (job.delay || 0), job.processedOn ?? 0);
}

/** A queue's backlog and how long its oldest waiting job has waited. */
export async function measureQueue(bull: Queue): Promise<QueueObservation> {
  const counts = await bull.getJobCounts("wait", "prioritized", "delayed", "active");
  const backlog = (counts.wait ?? 0) + (counts.prioritized ?? 0) + (counts.delayed ?? 0) + (counts.active ?? 0);
  // The wait list's oldest end, and the prioritized job that runs next.
  const [oldest] = counts.wait ? await bull.getJobs(["wait"], 0, 0, true) : [];
  const [next] = counts.prioritized ? await bull.getJobs(["prioritized"], 0, 0, true) : [];
  const now = Date.now();
  const ages = [oldest, next].filter((j): j is Job => j !== undefined).map((j) => now - waitingSince(j));
  return { backlog, oldestWaitMs: Math.max(0, ...ages) };
}
