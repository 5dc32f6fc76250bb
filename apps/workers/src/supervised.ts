/** The worker side of the autoscaler's IPC channel (its close: onSupervisorGone in @oms/shared). */
import { z } from "zod";

/**
 * What a worker sends its supervisor over the IPC channel: a heartbeat, with the ids of
 * its BullMQ workers (a job's lock token starts with the id of the worker holding it, so
 * the supervisor can hand back the jobs of a process it saw die).
 */
export const Heartbeat = z.object({ type: z.literal("heartbeat"), consumers: z.array(z.string()) });
export type Heartbeat = z.infer<typeof Heartbeat>;

export function isHeartbeat(message: unknown): message is Heartbeat {
  return Heartbeat.safeParse(message).success;
}

/** Worker heartbeats to the supervisor: one a second while the event loop turns. */
export const SUPERVISOR_HEARTBEAT_MS = 1_000;

/**
 * Tells the supervisor, every second, that this process's event loop still turns. A
 * frozen (SIGSTOP) or blocked process stops sending, and the supervisor replaces it:
 * nothing else would give its jobs to a process that runs.
 */
export function beatToSupervisor(consumers: string[]): () => void {
  if (!process.send) return () => undefined;
  const beat = () => {
    if (process.connected) process.send?.({ type: "heartbeat", consumers } satisfies Heartbeat);
  };
  beat();
  const timer = setInterval(beat, SUPERVISOR_HEARTBEAT_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/** Sent once over the IPC channel when the process consumes: a parent waits for this, not a log line. */
export const Ready = z.object({ type: z.literal("ready") });
export type Ready = z.infer<typeof Ready>;

export function isReady(message: unknown): message is Ready {
  return Ready.safeParse(message).success;
}

/** Tells a parent with an IPC channel (a test, a supervisor) that this process consumes. */
export function announceReady(): void {
  if (process.send && process.connected) process.send({ type: "ready" } satisfies Ready);
}
