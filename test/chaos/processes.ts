/**
 * The system under test as separate processes, started the way production starts
 * them (`node --import tsx apps/.../main.ts`), each logging to its own file.
 */
import type { ChildProcess } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ChildStartError, SETTING_NAMES, sourceCommand, spawnChild, waitUntilReady, type ExitInfo } from "@oms/shared";
import { CrashSchema } from "./crash-hook";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

export type { ExitInfo };

export interface ServiceProcess {
  name: string;
  child: ChildProcess;
  logPath: string;
  exited: Promise<ExitInfo>;
  /** True once this harness sent it a signal (so a SIGKILL exit is ours, not a self-kill). */
  readonly signalledByUs: boolean;
  /** Lines matching "chaos: killing this worker" seen in its output. */
  selfKillLogged: boolean;
  startedAt: number;
  /** When it said over IPC that it is ready. */
  readonly readyAt?: number;
  isAlive(): boolean;
  kill(signal: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<ExitInfo>;
}

/**
 * The environment of a child: the parent's, without any setting the system reads
 * (so a stray CHAOS_CRASH_AT or JWT_SECRET in the shell changes nothing), plus `env`.
 */
export function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...process.env };
  for (const key of [...SETTING_NAMES, ...Object.keys(CrashSchema.shape)]) delete out[key];
  return { ...out, ...env };
}

export interface SpawnOptions {
  name: string;
  script:
    | "apps/api/src/main.ts"
    | "apps/workers/src/main.ts"
    | "apps/workers/src/autoscale/main.ts"
    /** A worker with the chaos suite's checkpoint hook (CHAOS_CRASH_AT). */
    | "test/chaos/worker-entry.ts";
  env: Record<string, string>;
  logDir: string;
  readyTimeoutMs: number;
  /** Told about the process as soon as it is spawned (before it is ready). */
  onSpawn?: (proc: ServiceProcess) => void;
}

/** A service that exited or timed out before it was ready; `proc` says how it ended. */
export class StartError extends Error {
  constructor(
    message: string,
    readonly proc: ServiceProcess,
  ) {
    super(message);
    this.name = "StartError";
  }
}

/**
 * Starts a service, its output in `<logDir>/<name>.log`, and resolves once it says over
 * IPC that it is ready; rejects with a StartError if it exits or times out first.
 */
export async function spawnService(options: SpawnOptions): Promise<ServiceProcess> {
  const logPath = join(options.logDir, `${options.name}.log`);
  const child = spawnChild({
    name: options.name,
    command: sourceCommand(options.script, ROOT),
    env: childEnv(options.env),
    output: {
      logFile: logPath,
      onLine: (line) => {
        if (line.includes("chaos: killing this worker")) proc.selfKillLogged = true;
      },
    },
  });
  const proc: ServiceProcess = {
    name: options.name,
    child: child.process,
    logPath,
    exited: child.exited,
    get signalledByUs() {
      return child.signalled;
    },
    selfKillLogged: false,
    startedAt: child.startedAt,
    get readyAt() {
      return child.readyAt ?? undefined;
    },
    isAlive: () => child.isAlive(),
    kill: (signal) => child.signal(signal),
    stop: (graceMs = 3_000) => child.stop(graceMs),
  };
  options.onSpawn?.(proc);
  try {
    await waitUntilReady(child, { timeoutMs: options.readyTimeoutMs });
  } catch (err) {
    const message = err instanceof ChildStartError ? `${err.message.split("\n")[0]}; see ${logPath}` : String(err);
    throw new StartError(message, proc);
  }
  return proc;
}
