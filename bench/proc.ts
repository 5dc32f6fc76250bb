/**
 * CPU and memory of processes, read from /proc: utime + stime of /proc/<pid>/stat,
 * VmRSS and VmHWM of /proc/<pid>/status. Linux only, as the benchmark is.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import type { ProcessUsage } from "./types";

export interface WatchedProcess {
  name: string;
  pid: number;
}

let ticksPerSecond: number | undefined;
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** CPU seconds (user + system) the process has used so far; NaN when it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / clockTicks();
  } catch {
    return Number.NaN;
  }
}

/** VmRSS and VmHWM in kB (0 when the process is gone). */
export function memoryKb(pid: number): { rss: number; hwm: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? 0);
    return { rss: field("VmRSS"), hwm: field("VmHWM") };
  } catch {
    return { rss: 0, hwm: 0 };
  }
}

/** The first process whose command name is one of these (e.g. mariadbd, mysqld). */
export function findProcess(names: string[]): number | null {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const comm = readFileSync(`/proc/${entry}/comm`, "utf8").trim();
      if (names.includes(comm)) return Number(entry);
    } catch {
      // The process ended while we looked.
    }
  }
  return null;
}

export function processExists(pid: number): boolean {
  return existsSync(`/proc/${pid}/stat`);
}

interface Mark {
  at: number;
  cpu: Map<number, number>;
  self: NodeJS.CpuUsage;
  peak: Map<number, number>;
}

/**
 * Samples the RSS of a set of processes every `intervalMs` (keeping the peak since the
 * last mark), and measures CPU between marks.
 */
export class ProcSampler {
  private timer: NodeJS.Timeout | undefined;
  private mark: Mark | undefined;
  readonly history: Array<{ t: number; rssKb: Record<string, number> }> = [];
  private readonly startedAt = performance.now();

  constructor(
    private processes: WatchedProcess[],
    private readonly intervalMs = 250,
    private readonly keepHistory = false,
  ) {}

  watch(processes: WatchedProcess[]): void {
    this.processes = processes;
  }

  start(): this {
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
    this.begin();
    return this;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private sample(): void {
    const rssKb: Record<string, number> = {};
    for (const p of this.processes) {
      const { rss } = memoryKb(p.pid);
      rssKb[p.name] = rss;
      if (this.mark) this.mark.peak.set(p.pid, Math.max(this.mark.peak.get(p.pid) ?? 0, rss));
    }
    if (this.keepHistory) this.history.push({ t: (performance.now() - this.startedAt) / 1000, rssKb });
  }

  /** Starts a measurement window. */
  begin(): void {
    this.mark = {
      at: performance.now(),
      cpu: new Map(this.processes.map((p) => [p.pid, cpuSeconds(p.pid)])),
      self: process.cpuUsage(),
      peak: new Map(),
    };
    this.sample();
  }

  /** Ends the window: CPU and memory of each process since `begin`, and this process's CPU. */
  end(): { processes: ProcessUsage[]; clientCpuPercent: number; seconds: number } {
    this.sample();
    const mark = this.mark;
    if (!mark) throw new Error("ProcSampler.end without begin");
    const seconds = (performance.now() - mark.at) / 1000;
    const processes = this.processes.map((p): ProcessUsage => {
      const used = cpuSeconds(p.pid) - (mark.cpu.get(p.pid) ?? Number.NaN);
      const cpu = Number.isFinite(used) ? used : 0;
      const { rss, hwm } = memoryKb(p.pid);
      return {
        name: p.name,
        pid: p.pid,
        cpuSeconds: cpu,
        cpuPercent: seconds > 0 ? (100 * cpu) / seconds : 0,
        rssPeakKb: Math.max(mark.peak.get(p.pid) ?? 0, rss),
        hwmKb: hwm,
      };
    });
    const self = process.cpuUsage(mark.self);
    const clientCpuPercent = seconds > 0 ? (100 * (self.user + self.system)) / 1e6 / seconds : 0;
    this.begin();
    return { processes, clientCpuPercent, seconds };
  }
}
