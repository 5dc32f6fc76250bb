/**
 * CPU and memory of the processes under test over a phase: CPU time and RSS from
 * pidusage, sampled every 250 ms for the peak; VmHWM (peak RSS since the process
 * started) from /proc/<pid>/status, which pidusage does not read. Linux only.
 */
import { readFileSync } from "node:fs";
import pidusage from "pidusage";
import type { ProcessUsage } from "./types";

export type WatchedProcess = { name: string; pid: number };
type Usage = Record<string, { ctime: number; memory: number } | undefined>;

/** CPU ms and RSS bytes of each pid; a process that is gone is left out. */
export async function usageOf(pids: number[]): Promise<Usage> {
  const all = await Promise.all(pids.map((pid) => pidusage(pid).catch(() => undefined)));
  return Object.fromEntries(pids.map((pid, i) => [String(pid), all[i]]));
}

function hwmKb(pid: number): number {
  try {
    return Number(/^VmHWM:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** Measures CPU between `begin` and `end`, and samples RSS in between for the peak. */
export class ProcSampler {
  private timer: NodeJS.Timeout | undefined;
  private cpuAtBegin: Usage = {};
  private peakKb = new Map<number, number>();
  private at = 0;
  private self = process.cpuUsage();

  constructor(private readonly processes: WatchedProcess[]) {}

  start(): this {
    this.timer = setInterval(() => void this.sample(), 250).unref();
    return this;
  }

  stop(): void {
    clearInterval(this.timer);
    pidusage.clear();
  }

  private async sample(): Promise<Usage> {
    const usage = await usageOf(this.processes.map((p) => p.pid));
    for (const { pid } of this.processes)
      this.peakKb.set(pid, Math.max(this.peakKb.get(pid) ?? 0, (usage[pid]?.memory ?? 0) / 1024));
    return usage;
  }

  async begin(): Promise<void> {
    this.peakKb = new Map();
    [this.cpuAtBegin, this.at, this.self] = [await this.sample(), performance.now(), process.cpuUsage()];
  }

  /** CPU and memory of each process since `begin`, and this process's CPU. */
  async end(): Promise<{ processes: ProcessUsage[]; clientCpuPercent: number; seconds: number }> {
    const [seconds, self, usage] = [
      (performance.now() - this.at) / 1000,
      process.cpuUsage(this.self),
      await this.sample(),
    ];
    const percent = (cpuSeconds: number) => (seconds > 0 ? (100 * cpuSeconds) / seconds : 0);
    const processes = this.processes.map(({ name, pid }): ProcessUsage => {
      const ms = (usage[pid]?.ctime ?? 0) - (this.cpuAtBegin[pid]?.ctime ?? 0);
      const cpuSeconds = Number.isFinite(ms) && ms > 0 ? ms / 1000 : 0;
      const rssPeakKb = Math.round(this.peakKb.get(pid) ?? 0);
      return { name, pid, cpuSeconds, cpuPercent: percent(cpuSeconds), rssPeakKb, hwmKb: hwmKb(pid) };
    });
    return { processes, clientCpuPercent: percent((self.user + self.system) / 1e6), seconds };
  }
}
