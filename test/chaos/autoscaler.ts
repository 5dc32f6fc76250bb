/**
 * The autoscaler as a chaos target: SIGKILL it and its worker processes must go with it
 * (each learns it from its IPC channel closing, drains and exits) rather than run on
 * untracked; the jobs they held come back through BullMQ's stalled check like any
 * killed worker's, and a new autoscaler starts its own.
 */
import { readdirSync, readFileSync } from "node:fs";
import { sleep } from "./infra";
import type { ServiceProcess } from "./processes";

export interface AutoscalerKillOutcome {
  /** Worker processes the autoscaler had when it was killed. */
  children: number[];
  /** Of those, the ones still running `boundMs` after the kill (then SIGKILLed by us). */
  outlived: number[];
  /** How long the last child took to exit, or the bound when one outlived it. */
  lastExitMs: number;
}

/** Pids of the live processes whose parent is `pid` (from /proc). */
export function childPids(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Fields after the command name, which may hold spaces: state, ppid, ...
      const fields = readFileSync(`/proc/${entry}/stat`, "utf8")
        .replace(/^.*\) /s, "")
        .split(" ");
      if (Number(fields[1]) === pid && fields[0] !== "Z") children.push(Number(entry));
    } catch {
      // The process ended while we listed it.
    }
  }
  return children;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, "utf8")
      .replace(/^.*\) /s, "")
      .startsWith("Z");
  } catch {
    return false;
  }
}

/**
 * Waits (bounded) until the autoscaler runs at least one worker, so the kill orphans
 * something, and until each says it consumes (`consuming`): a worker still loading its
 * code cannot yet notice its supervisor is gone, and on a busy machine loading takes
 * longer than the bound on its exit.
 */
export async function waitForChildren(
  proc: ServiceProcess,
  timeoutMs: number,
  consuming: (pid: number) => Promise<boolean> = async () => true,
): Promise<number[]> {
  const pid = proc.child.pid;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const children = pid === undefined ? [] : childPids(pid);
    if (Date.now() > deadline || !proc.isAlive()) return children;
    const ready = await Promise.all(children.map((child) => consuming(child).catch(() => false)));
    if (children.length > 0 && ready.every(Boolean)) return children;
    await sleep(200);
  }
}

/** SIGKILLs the autoscaler and watches its workers end by themselves within `boundMs`. */
export async function killAutoscaler(
  proc: ServiceProcess,
  boundMs: number,
  consuming?: (pid: number) => Promise<boolean>,
): Promise<AutoscalerKillOutcome> {
  const children = await waitForChildren(proc, 60_000, consuming);
  const killedAt = Date.now();
  proc.kill("SIGKILL");
  await proc.exited;
  let alive = children.filter(isRunning);
  while (alive.length > 0 && Date.now() - killedAt < boundMs) {
    await sleep(100);
    alive = alive.filter(isRunning);
  }
  for (const pid of alive) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Gone meanwhile.
    }
  }
  return { children, outlived: alive, lastExitMs: Date.now() - killedAt };
}
