/**
 * One worker process as the supervisor runs it: spawned for one queue (with the shared
 * spawner, @oms/shared's spawnChild), its output kept (the last lines explain a crash),
 * its heartbeats read, its exit reported once.
 */
import { entryCommand, isReady, spawnChild, type Child, type Logger, type QueueName } from "@oms/shared";
import { isHeartbeat } from "../supervised";
import type { WorkerCommand } from "./supervisor-types";

/** The real worker, run by the same Node: dist/workers.js from a build, its source through tsx otherwise. */
export const DEFAULT_WORKER_COMMAND: WorkerCommand = entryCommand("workers");

export interface WorkerProc {
  queue: QueueName;
  child: Child;
  pid: number;
  startedAt: number;
  readyAt: number | null;
  retiringAt: number | null;
  forced: boolean;
  lastBeatAt: number | null;
  /** Its BullMQ worker ids, from its heartbeats. */
  consumers: string[];
  hung: boolean;
  /** The port of its /metrics (0: it serves none). */
  metricsPort: number;
  exited: Promise<void>;
}

export interface SpawnWorkerOptions {
  queue: QueueName;
  command: WorkerCommand;
  env: NodeJS.ProcessEnv;
  /** The port its /metrics listens on, 0 for none. */
  metricsPort: number;
  /** Copy its output lines to this process's stdout/stderr. */
  forwardOutput: boolean;
  logger: Logger;
  /** It said over IPC that it consumes. */
  onReady(proc: WorkerProc): void;
  /** It exited (or could not be started); called once. */
  onExit(proc: WorkerProc, code: number | null, signal: NodeJS.Signals | null): void;
}

export function spawnWorkerProcess(options: SpawnWorkerOptions): WorkerProc {
  const { queue, logger, metricsPort } = options;
  const child = spawnChild({
    name: `worker-${queue}`,
    command: options.command,
    env: {
      ...options.env,
      WORKER_QUEUES: queue,
      // Several processes on one machine: each its own metrics port (or none), and none seeds.
      METRICS_PORT: String(metricsPort),
      SEED_ON_START: "false",
    },
    output: { forwardPrefix: options.forwardOutput ? "" : undefined, tailLines: 30 },
    // Its own process group: a Ctrl-C in the terminal reaches the supervisor, which
    // retires the workers itself, rather than each worker at once (which would look
    // like crashes to replace).
    detached: true,
  });
  const proc: WorkerProc = {
    queue,
    child,
    pid: child.pid,
    startedAt: child.startedAt,
    readyAt: null,
    retiringAt: null,
    forced: false,
    lastBeatAt: null,
    consumers: [],
    hung: false,
    metricsPort,
    exited: child.exited.then((exit) => {
      if (child.pid === -1) logger.error({ queue }, "worker process could not be started");
      options.onExit(proc, exit.code, exit.signal);
    }),
  };
  child.process.on("message", (message: unknown) => {
    // A worker says it consumes over IPC, not in a log line, whose wording is for people.
    if (isReady(message)) {
      // Its planned port may have been taken: the one it serves on is the one to list.
      if (message.metricsPort) proc.metricsPort = message.metricsPort;
      if (proc.readyAt === null) options.onReady(proc);
      return;
    }
    if (!isHeartbeat(message)) return;
    proc.lastBeatAt = Date.now();
    proc.consumers = message.consumers;
  });
  logger.info({ queue, pid: proc.pid, metricsPort: metricsPort || undefined }, "worker process started");
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
  void proc.child.stop(timeoutMs, () => {
    proc.forced = true;
    options.onForced();
    logger.warn(
      { queue: proc.queue, pid: proc.pid, retireTimeoutMs: timeoutMs },
      "worker process did not exit in time: killed; its active jobs go back to wait",
    );
  });
}
