import type { Queue, Worker } from "bullmq";
import { errorMessage } from "@oms/shared";

export interface WatchedWorker {
  queueName: string;
  worker: Worker;
  queue: Queue;
  concurrency: number;
}

export interface ProgressReport {
  ready: boolean;
  problems: string[];
}

/**
 * Tells whether this process is really consuming: its workers run, and none has
 * waiting jobs and free capacity while starting nothing for `stallMs`. That is how a
 * worker whose blocking connection went quiet after a Redis reconnect shows up.
 */
export class ProgressMonitor {
  private readonly lastStart = new Map<string, number>();

  constructor(
    private readonly watched: WatchedWorker[],
    private readonly stallMs: number,
  ) {
    const now = Date.now();
    for (const w of watched) {
      this.lastStart.set(w.queueName, now);
      w.worker.on("active", () => this.lastStart.set(w.queueName, Date.now()));
    }
  }

  async check(now = Date.now()): Promise<ProgressReport> {
    const problems: string[] = [];
    for (const w of this.watched) {
      if (!w.worker.isRunning()) {
        problems.push(`${w.queueName}: worker not running`);
        continue;
      }
      const idleFor = now - (this.lastStart.get(w.queueName) ?? now);
      if (idleFor < this.stallMs) continue;
      try {
        const waiting = await w.queue.getJobCountByTypes("wait", "prioritized");
        if (waiting > 0)
          problems.push(`${w.queueName}: ${waiting} waiting jobs but none started for ${Math.round(idleFor / 1000)} s`);
      } catch (err) {
        problems.push(`${w.queueName}: queue unreachable (${errorMessage(err)})`);
      }
    }
    return { ready: problems.length === 0, problems };
  }
}
