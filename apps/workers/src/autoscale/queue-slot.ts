/** One supervised queue: its BullMQ handle, its scaling state and its processes. */
import { Queue } from "bullmq";
import { QUEUE_NAMES, type Logger, type QueueName, type RedisClient } from "@oms/shared";
import { initialState, type QueueLimits, type QueueObservation, type ScalerState } from "./decision";
import type { QueueStatus } from "./supervisor-types";
import type { WorkerProc } from "./worker-process";

export interface QueueSlot {
  queue: QueueName;
  limits: QueueLimits;
  bull: Queue;
  state: ScalerState;
  procs: Set<WorkerProc>;
  /** Exits before reaching ready, in a row. */
  earlyExits: number;
  nextSpawnAt: number;
  respawnTimer?: NodeJS.Timeout;
  observation?: QueueObservation;
}

export function createQueueSlot(
  queue: QueueName,
  limits: QueueLimits,
  redis: RedisClient,
  queuePrefix: (queue: QueueName) => string,
  logger: Logger,
): QueueSlot {
  const bull = new Queue(QUEUE_NAMES[queue], { connection: redis, prefix: queuePrefix(queue) });
  // Connection trouble surfaces as failed measurements (counted and logged there).
  bull.on("error", (err) => logger.debug({ queue, err: err.message }, "queue connection error"));
  return { queue, limits, bull, state: initialState(limits), procs: new Set(), earlyExits: 0, nextSpawnAt: 0 };
}

/**
 * After a process exited unasked: when the slot may spawn its replacement. The first is
 * at once; processes that keep dying before they are ready back off exponentially.
 */
export function delayRespawn(
  slot: Pick<QueueSlot, "earlyExits" | "nextSpawnAt">,
  proc: Pick<WorkerProc, "readyAt">,
  backoff: { baseMs: number; maxMs: number },
): number {
  if (proc.readyAt === null) slot.earlyExits++;
  const delay = slot.earlyExits <= 1 ? 0 : Math.min(backoff.baseMs * 2 ** (slot.earlyExits - 2), backoff.maxMs);
  slot.nextSpawnAt = Date.now() + delay;
  return delay;
}

export function slotStatus(slot: QueueSlot): QueueStatus {
  const live = [...slot.procs].filter((p) => p.retiringAt === null);
  return {
    queue: slot.queue,
    limits: slot.limits,
    desired: slot.state.desired,
    running: live.length,
    ready: live.filter((p) => p.readyAt !== null).length,
    retiring: slot.procs.size - live.length,
    pids: live.map((p) => p.pid),
    // Listed once ready: the port a worker serves on is the one it reports then.
    metricsPorts: [...slot.procs].filter((p) => p.readyAt !== null && p.metricsPort > 0).map((p) => p.metricsPort),
    observation: slot.observation,
  };
}

/** The order processes are retired in: starting ones hold no jobs, so they go first; then the newest. */
export function retireFirst(live: WorkerProc[]): WorkerProc[] {
  return [...live].sort((a, b) => Number(a.readyAt !== null) - Number(b.readyAt !== null) || b.startedAt - a.startedAt);
}

/**
 * The lowest port from `firstPort` up that no process of ours holds (retiring ones still
 * listen): fixed, predictable ports an operator can scrape. 0 when `firstPort` is 0.
 */
export function nextMetricsPort(slots: QueueSlot[], firstPort: number): number {
  if (!firstPort) return 0;
  const taken = new Set(slots.flatMap((slot) => [...slot.procs].map((p) => p.metricsPort)));
  let port = firstPort;
  while (taken.has(port)) port++;
  return port;
}
