/** What the autoscaler's Supervisor is given, what it tells, and what it reports. */
import type { Logger, QueueName, RedisTarget } from "@oms/shared";
import type { Decision, QueueLimits, QueueObservation, ScalingPolicy } from "./decision";
import type { AutoscaleMetrics } from "./metrics";
import type { StalledCheckOptions } from "./stalled-check";

/** How a worker process is started; WORKER_QUEUES is added to its environment. */
export interface WorkerCommand {
  file: string;
  args: string[];
  cwd: string;
}

export interface SupervisorOptions {
  redisTarget: string | RedisTarget;
  /** BullMQ prefix of each queue, `keyspace(REDIS_PREFIX).queuePrefix`. */
  queuePrefix: (queue: QueueName) => string;
  /** Queues to run, each with its min and max processes. */
  limits: Map<QueueName, QueueLimits>;
  policy: ScalingPolicy;
  pollIntervalMs: number;
  /** How long a retiring process may take to exit before it is killed. */
  retireTimeoutMs: number;
  logger: Logger;
  metrics?: AutoscaleMetrics;
  command?: WorkerCommand;
  /** Environment of the worker processes (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** false: measure and export only, run no processes (KEDA's metrics source). */
  spawnWorkers?: boolean;
  /** Each worker serves /metrics on its own port, the lowest free one from `firstPort` up (unset: none). */
  workerMetrics?: { firstPort: number };
  /** Copy the workers' output lines to this process's stdout/stderr (default true). */
  forwardOutput?: boolean;
  /** Back-off of a process that keeps exiting before it is ready. */
  restartBackoff?: { baseMs: number; maxMs: number };
  /** Bound of one measurement, so a hung Redis cannot stall the loop. */
  measureTimeoutMs?: number;
  /** A consuming worker silent on its heartbeat this long is killed and replaced (0 or unset: never). */
  hungAfterMs?: number;
  /** Run BullMQ's stalled-job check on the supervised queues from this process too. */
  stalledCheck?: StalledCheckOptions;
}

export interface WorkerInfo {
  queue: QueueName;
  pid: number;
}

export interface WorkerExit extends WorkerInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** It was retiring (or the supervisor was stopping). */
  retired: boolean;
  /** It was killed because it did not exit within retireTimeoutMs. */
  forced: boolean;
  /** It was killed because its heartbeat stopped. */
  hung: boolean;
  /** For a retired process, how long it drained. */
  drainMs?: number;
}

export interface DecisionEvent {
  queue: QueueName;
  observation: QueueObservation;
  running: number;
  ready: number;
  decision: Decision;
}

export type SupervisorEvents = {
  spawn: [WorkerInfo];
  ready: [WorkerInfo & { startupMs: number }];
  retire: [WorkerInfo];
  exit: [WorkerExit];
  /** An unasked exit; a replacement follows. */
  crash: [WorkerExit & { output: string[] }];
  /** A consuming process whose heartbeat stopped; it is killed, and its exit is a crash. */
  hung: [WorkerInfo & { silentMs: number }];
  /** Jobs a gone process still held, moved back to wait. */
  handBack: [WorkerInfo & { jobs: string[] }];
  decision: [DecisionEvent];
};

export interface QueueStatus {
  queue: QueueName;
  limits: QueueLimits;
  desired: number;
  /** Processes not retiring (starting or consuming). */
  running: number;
  ready: number;
  retiring: number;
  pids: number[];
  /** The /metrics ports of its processes, retiring ones included (they serve until they exit). */
  metricsPorts: number[];
  observation?: QueueObservation;
}
