/**
 * The system under test as separate processes, started the way production starts
 * them (`node --import tsx apps/.../main.ts`), each logging to its own file.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { SETTING_NAMES } from "@oms/shared";
import { CrashSchema } from "./crash-hook";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ServiceProcess {
  name: string;
  child: ChildProcess;
  logPath: string;
  exited: Promise<ExitInfo>;
  /** True once this harness sent it a signal (so a SIGKILL exit is ours, not a self-kill). */
  signalledByUs: boolean;
  /** Lines matching "chaos: killing this worker" seen in its output. */
  selfKillLogged: boolean;
  startedAt: number;
  readyAt?: number;
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
  /** Output that says the process is ready. */
  readyPattern: RegExp;
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

/** Starts a service and resolves once it logged `readyPattern`; rejects with a StartError if it exits or times out first. */
export async function spawnService(options: SpawnOptions): Promise<ServiceProcess> {
  const logPath = join(options.logDir, `${options.name}.log`);
  const log = createWriteStream(logPath, { flags: "a" });
  const child = spawn(process.execPath, ["--import", "tsx", options.script], {
    cwd: ROOT,
    env: childEnv(options.env),
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<ExitInfo>((resolve) =>
    child.once("exit", (code, signal) => {
      log.end();
      resolve({ code, signal });
    }),
  );
  const proc: ServiceProcess = {
    name: options.name,
    child,
    logPath,
    exited,
    signalledByUs: false,
    selfKillLogged: false,
    startedAt: Date.now(),
    isAlive: () => child.exitCode === null && child.signalCode === null,
    kill(signal) {
      if (!proc.isAlive()) return;
      proc.signalledByUs = true;
      child.kill(signal);
    },
    async stop(graceMs = 3_000) {
      if (!proc.isAlive()) return exited;
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), graceMs);
      const info = await exited;
      clearTimeout(timer);
      return info;
    },
  };

  options.onSpawn?.(proc);
  let tail = "";
  let ready = false;
  let resolveReady: () => void = () => undefined;
  const readyPromise = new Promise<void>((r) => (resolveReady = r));
  const onOutput = (chunk: Buffer) => {
    log.write(chunk);
    const text = tail + chunk.toString();
    if (text.includes("chaos: killing this worker")) proc.selfKillLogged = true;
    if (!ready && options.readyPattern.test(text)) {
      ready = true;
      proc.readyAt = Date.now();
      resolveReady();
    }
    tail = text.slice(-400);
  };
  child.stdout?.on("data", onOutput);
  child.stderr?.on("data", onOutput);

  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      readyPromise,
      exited.then((info) => {
        throw new Error(
          `${options.name} exited (code ${info.code}, signal ${info.signal}) before it was ready; see ${logPath}`,
        );
      }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${options.name} not ready in ${options.readyTimeoutMs} ms; see ${logPath}`)),
          options.readyTimeoutMs,
        );
      }),
    ]);
  } catch (err) {
    proc.kill("SIGKILL");
    throw new StartError((err as Error).message, proc);
  } finally {
    clearTimeout(timer);
  }
  return proc;
}
