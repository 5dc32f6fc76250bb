/** The worker side of the autoscaler's IPC channel (its close: onSupervisorGone in @oms/shared). */
import { z } from "zod";

/** A worker announces that it consumes as every process of ours announces it serves. */
export { announceReady } from "@oms/shared";

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
