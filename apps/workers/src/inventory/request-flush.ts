import type { Queue } from "bullmq";

/**
 * One flush job per window (FLUSH_WINDOW_MS), run when the window ends, so it covers every commit
 * made in it: the first commit of a window in this process schedules it, the others
 * skip the queue (a queue add per checkout cost more than the flush).
 */
export function requestFlush(queue: Queue, windowMs = 100): () => Promise<void> {
  let scheduledWindow = -1;
  return async () => {
    const now = Date.now();
    const window = Math.floor(now / windowMs);
    if (window === scheduledWindow) return;
    scheduledWindow = window;
    try {
      await queue.add(
        "flush",
        { type: "flush" },
        {
          jobId: `flush-${window}`,
          delay: (window + 1) * windowMs - now,
          removeOnComplete: true,
          removeOnFail: 1_000,
        },
      );
    } catch (err) {
      scheduledWindow = -1;
      throw err;
    }
  };
}
