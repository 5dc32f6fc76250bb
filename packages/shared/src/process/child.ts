/**
 * One way to run a child Node process of ours (the API, a worker, the autoscaler, a
 * script), for `npm start`, the autoscaler, the benchmark, the chaos suite and the tests.
 *
 * Every child gets an IPC channel. Our entry points announce readiness on it
 * (ready.ts) and stop themselves when it closes (onSupervisorGone), which it does
 * when this process ends in any way, SIGKILL included: a child never outlives the
 * process that started it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream } from "node:fs";
import { createInterface } from "node:readline";
import type { EntryCommand } from "../entries";
import { isReady } from "./ready";
import { sleep } from "./wait";

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Where a child's output goes when it is not simply shared with this process's terminal. */
export interface PipedOutput {
  /** Copy each line to this process's stdout/stderr, after this prefix ("" for none). */
  forwardPrefix?: string;
  /** Append the raw output to this file. */
  logFile?: string;
  /** Each line as it comes (stdout and stderr alike). */
  onLine?: (line: string) => void;
  /** Lines kept for `tail()` (default 40): what explains a crash. */
  tailLines?: number;
}

export interface ChildOptions {
  name: string;
  command: EntryCommand;
  env: NodeJS.ProcessEnv;
  /** "inherit": the child writes to this process's terminal; otherwise piped (default: kept for tail()). */
  output?: "inherit" | PipedOutput;
  /** Its own process group: a Ctrl-C in the terminal reaches only this process, which stops it in order. */
  detached?: boolean;
}

export interface Child {
  name: string;
  process: ChildProcess;
  /** -1 when it could not be started (`exited` then resolves at once). */
  pid: number;
  startedAt: number;
  /** When it said it is ready over IPC; null until then. */
  readyAt: number | null;
  exited: Promise<ExitInfo>;
  /** True once this process sent it a signal (a SIGKILL exit is then ours, not a self-kill). */
  signalled: boolean;
  isAlive(): boolean;
  /** Any signal: SIGTERM to drain, SIGKILL to crash it, SIGSTOP/SIGCONT to freeze and thaw it. */
  signal(signal: NodeJS.Signals): void;
  /**
   * SIGTERM, then SIGKILL if it has not exited after `graceMs` (`onForced` is told
   * first). Resolves when it has exited.
   */
  stop(graceMs: number, onForced?: () => void): Promise<ExitInfo>;
  /** Its last lines of output (piped output only). */
  tail(): string[];
}

export function spawnChild(options: ChildOptions): Child {
  const { command, output = {} } = options;
  const piped = output !== "inherit";
  const child = spawn(command.file, command.args, {
    cwd: command.cwd,
    env: options.env,
    stdio: piped ? ["ignore", "pipe", "pipe", "ipc"] : ["inherit", "inherit", "inherit", "ipc"],
    detached: options.detached ?? false,
  });
  const tail: string[] = [];
  let resolveExited: (info: ExitInfo) => void = () => undefined;
  const exited = new Promise<ExitInfo>((resolve) => (resolveExited = resolve));
  let forceTimer: NodeJS.Timeout | undefined;
  const handle: Child = {
    name: options.name,
    process: child,
    pid: child.pid ?? -1,
    startedAt: Date.now(),
    readyAt: null,
    exited,
    signalled: false,
    isAlive: () => child.pid !== undefined && child.exitCode === null && child.signalCode === null,
    signal(signal) {
      if (!handle.isAlive()) return;
      handle.signalled = true;
      child.kill(signal);
    },
    async stop(graceMs, onForced) {
      if (!handle.isAlive()) return exited;
      handle.signal("SIGTERM");
      // A frozen child cannot act on SIGTERM; let it run so it can drain.
      child.kill("SIGCONT");
      forceTimer ??= setTimeout(() => {
        if (!handle.isAlive()) return;
        onForced?.();
        handle.signal("SIGKILL");
      }, graceMs);
      return exited;
    },
    tail: () => [...tail],
  };

  if (piped) pipeOutput(child, output, tail);
  child.on("message", (message: unknown) => {
    if (isReady(message) && handle.readyAt === null) handle.readyAt = Date.now();
  });
  child.once("exit", (code, signal) => {
    clearTimeout(forceTimer);
    resolveExited({ code, signal });
  });
  child.once("error", () => {
    // Never started (no such file, no permission): no exit event follows.
    if (child.pid === undefined) resolveExited({ code: null, signal: null });
  });
  return handle;
}

function pipeOutput(child: ChildProcess, output: PipedOutput, tail: string[]): void {
  const keep = output.tailLines ?? 40;
  const log = output.logFile ? createWriteStream(output.logFile, { flags: "a" }) : undefined;
  child.once("exit", () => log?.end());
  const follow = (input: NodeJS.ReadableStream | null, stream: NodeJS.WriteStream) => {
    if (!input) return;
    createInterface({ input }).on("line", (line) => {
      tail.push(line);
      if (tail.length > keep) tail.shift();
      log?.write(`${line}\n`);
      if (output.forwardPrefix !== undefined) stream.write(`${output.forwardPrefix}${line}\n`);
      output.onLine?.(line);
    });
  };
  follow(child.stdout, process.stdout);
  follow(child.stderr, process.stderr);
}

/** A child that exited or timed out before it was ready; `child` says how it ended. */
export class ChildStartError extends Error {
  constructor(
    message: string,
    readonly child: Child,
  ) {
    super(message);
    this.name = "ChildStartError";
  }
}

export interface ReadyOptions {
  timeoutMs: number;
  /** Ready when this URL answers 2xx, instead of when the IPC message comes (the API listens before it is ready). */
  readyzUrl?: string;
}

/**
 * Resolves once the child is ready: it said so over IPC, or (given) `readyzUrl` answered 2xx.
 * If it exits or the time runs out first, it is SIGKILLed and a ChildStartError with
 * its last output is thrown.
 */
export async function waitUntilReady(child: Child, options: ReadyOptions): Promise<Child> {
  const deadline = Date.now() + options.timeoutMs;
  let exit: ExitInfo | undefined;
  void child.exited.then((info) => (exit = info));
  for (;;) {
    if (options.readyzUrl ? await answers(options.readyzUrl) : child.readyAt !== null) {
      child.readyAt ??= Date.now();
      return child;
    }
    const why = exit
      ? `exited (code ${exit.code}, signal ${exit.signal}) before it was ready`
      : Date.now() > deadline
        ? `not ready in ${options.timeoutMs} ms`
        : undefined;
    if (why) {
      child.signal("SIGKILL");
      throw new ChildStartError(`${child.name} ${why}:\n${child.tail().join("\n")}`, child);
    }
    await Promise.race([sleep(options.readyzUrl ? 200 : 50), child.exited]);
  }
}

async function answers(url: string): Promise<boolean> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(2_000) })).ok;
  } catch {
    return false;
  }
}
