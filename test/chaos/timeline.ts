/**
 * A chaos run's bookkeeping: its event log, how often each fault struck, the notes it
 * reports, and when faults were in effect, workers died and BullMQ re-delivered a
 * stalled job (for the bound on time-to-final and the stall-recovery note).
 */
import { appendFileSync } from "node:fs";
import { join } from "node:path";
import type { FaultWindow } from "./invariants";

export class Timeline {
  readonly t0 = Date.now();
  /** When the load started; 0 before, while events are stamped from set-up. */
  loadStart = 0;
  readonly faults: Record<string, number> = {};
  /** Problems of the harness itself or of the run that are not product invariants (reported, not failed). */
  readonly notes: string[] = [];
  /** Every fault, from when it began to when it was over, for the bound on time-to-final. */
  readonly faultWindows: FaultWindow[] = [];
  /** When workers died (SIGKILL by us or by themselves) and when BullMQ re-delivered a stalled job. */
  readonly deaths: number[] = [];
  private readonly stalls: number[] = [];
  private readonly stalledJobs: Array<{ jobId: string; at: number }> = [];

  constructor(private readonly logDir: string) {}

  elapsed(from = this.t0): string {
    return `${((Date.now() - from) / 1000).toFixed(1)}s`;
  }

  event(line: string): void {
    const stamp = this.loadStart ? `load+${this.elapsed(this.loadStart)}` : `setup+${this.elapsed()}`;
    appendFileSync(join(this.logDir, "events.log"), `${new Date().toISOString()} ${stamp} ${line}\n`);
  }

  /** A fault was in effect from `startMs` until now (an instant one: a SIGKILL). */
  faultOver(kind: string, startMs = Date.now()): void {
    this.faultWindows.push({ kind, startMs, endMs: Date.now() });
  }

  count(fault: string, n = 1): void {
    this.faults[fault] = (this.faults[fault] ?? 0) + n;
  }

  /** BullMQ reported a checkout job stalled: it delivers it again. */
  stalled(jobId: string): void {
    this.stalls.push(Date.now());
    this.stalledJobs.push({ jobId, at: Date.now() });
    this.count("stalled_jobs_redelivered");
    this.event(`job ${jobId} stalled: delivered again`);
  }

  stalledSince(jobId: string, sinceMs: number): boolean {
    return this.stalledJobs.some((s) => s.jobId === jobId && s.at >= sinceMs);
  }

  /** How long BullMQ took to re-deliver the jobs of a killed worker (its lock must lapse first). */
  noteStallRecovery(env: Record<string, string>): void {
    const delays = this.deaths
      .map((d) => this.stalls.find((s) => s >= d))
      .map((s, i) => (s === undefined ? undefined : s - (this.deaths[i] ?? 0)))
      .filter((d): d is number => d !== undefined && d <= 90_000)
      .sort((a, b) => a - b);
    if (delays.length)
      this.notes.push(
        `stalled jobs of a killed worker came back after ${delays.map((d) => (d / 1000).toFixed(0)).join(", ")} s (JOB_LOCK_MS ${env.JOB_LOCK_MS} + STALLED_CHECK_MS ${env.STALLED_CHECK_MS})`,
      );
  }
}
