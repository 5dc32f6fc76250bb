/**
 * One worker process as the supervisor runs it: spawned for one queue, its output kept
 * (the last lines explain a crash), its IPC messages read (ready, heartbeats), its exit
 * reported once.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { entryCommand, type Logger, type QueueName } from "@oms/shared";
import { isHeartbeat, isReady } from "../supervised";
import type { WorkerCommand } from "./supervisor-types";

/** The real worker, run by the same Node: dist/workers.js from a build, its source through tsx otherwise. */
export const DEFAULT_WORKER_COMMAND: WorkerCommand = entryCommand("workers");

const TAIL_LINES = 30;

export interface WorkerProc {
  queue: QueueName;
  child: ChildProcess;
  pid: number;
  startedAt: number;
  readyAt: number | null;
  retiringAt: number | null;
  forced: boolean;
  lastBeatAt: number | null;
  /** Its BullMQ worker ids, from its heartbeats. */
  consumers: string[];
  hung: boolean;
  killTimer?: NodeJS.Timeout;
  exited: Promise<void>;
  tail: string[];
}

export interface SpawnWorkerOptions {
  queue: QueueName;
  command: WorkerCommand;
  env: NodeJS.ProcessEnv;
  /** Copy its output lines to this process's stdout/stderr. */
  forwardOutput: boolean;
  logger: Logger;
  /** It said over IPC that it consumes. */
  onReady(proc: WorkerProc): void;
  /** It exited (or could not be started); called once. */
  onExit(proc: WorkerProc, code: number | null, signal: NodeJS.Signals | null): void;
}

export function spawnWorkerProcess(options: SpawnWorkerOptions): WorkerProc {
  const { queue, command, logger } = options;
  const child = spawn(command.file, command.args, {
    cwd: command.cwd,
    env: {
      ...options.env,
      WORKER_QUEUES: queue,
      // Several processes on one machine: none may claim a fixed port, and none seeds.
      METRICS_PORT: "0",
      SEED_ON_START: "false",
    },
    // The IPC channel is how a worker learns that this process is gone (see supervised.ts).
    stdio: ["ignore", "pipe", "pipe", "ipc"],
    // Its own process group: a Ctrl-C in the terminal reaches the supervisor, which
    // retires the workers itself, rather than each worker at once (which would look
    // like crashes to replace).
    detached: true,
  });
  let resolveExited = () => {};
  const proc: WorkerProc = {
    queue,
    child,
    pid: child.pid ?? -1,
    startedAt: Date.now(),
    readyAt: null,
    retiringAt: null,
    forced: false,
    lastBeatAt: null,
    consumers: [],
    hung: false,
    exited: new Promise<void>((resolve) => (resolveExited = resolve)),
    tail: [],
  };

  const onLine = (stream: NodeJS.WriteStream) => (line: string) => {
    proc.tail.push(line);
    if (proc.tail.length > TAIL_LINES) proc.tail.shift();
    if (options.forwardOutput) stream.write(`${line}\n`);
  };
  if (child.stdout) createInterface({ input: child.stdout }).on("line", onLine(process.stdout));
  if (child.stderr) createInterface({ input: child.stderr }).on("line", onLine(process.stderr));

  let finished = false;
  const finish = (code: number | null, signal: NodeJS.Signals | null) => {
    if (finished) return;
    finished = true;
    clearTimeout(proc.killTimer);
    options.onExit(proc, code, signal);
    resolveExited();
  };
  child.on("message", (message: unknown) => {
    // A worker says it consumes over IPC, not in a log line, whose wording is for people.
    if (isReady(message)) {
      if (proc.readyAt === null) options.onReady(proc);
      return;
    }
    if (!isHeartbeat(message)) return;
    proc.lastBeatAt = Date.now();
    proc.consumers = message.consumers;
  });
  child.once("exit", finish);
  child.once("error", (err) => {
    logger.error({ queue, err: err.message }, "worker process could not be started");
    if (child.pid === undefined) finish(null, null);
  });
  logger.info({ queue, pid: proc.pid }, "worker process started");
  return proc;
}

/**
 * SIGTERM: the worker stops taking jobs and finishes its active ones; still alive after
 * `timeoutMs`, it is killed (its active jobs then go back to wait).
 */
export function retireWorkerProcess(
  proc: WorkerProc,
  options: { why: "scale-down" | "stopping"; timeoutMs: number; logger: Logger; onForced(): void },
): void {
  const { logger, timeoutMs } = options;
  proc.retiringAt = Date.now();
  logger.info(
    { queue: proc.queue, pid: proc.pid, why: options.why },
    "retiring worker process: it drains its active jobs",
  );
  proc.child.kill("SIGTERM");
  proc.killTimer = setTimeout(() => {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
    proc.forced = true;
    options.onForced();
    logger.warn(
      { queue: proc.queue, pid: proc.pid, retireTimeoutMs: timeoutMs },
      "worker process did not exit in time: killed; its active jobs go back to wait",
    );
    proc.child.kill("SIGKILL");
  }, timeoutMs);
}
