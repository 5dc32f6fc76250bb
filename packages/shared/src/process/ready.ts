import { z } from "zod";

/**
 * Sent once over the IPC channel when a process of ours serves (the API listens, a
 * worker consumes, the autoscaler measures): a parent waits for this, never for a log
 * line, whose wording is for people.
 */
export const Ready = z.object({
  type: z.literal("ready"),
  /** The port its metrics are served on, when it serves them (it may differ from the one planned). */
  metricsPort: z.number().int().positive().optional(),
});
export type Ready = z.infer<typeof Ready>;

export function isReady(message: unknown): message is Ready {
  return Ready.safeParse(message).success;
}

/** Tells a parent with an IPC channel (a supervisor, the bench, a test) that this process serves. */
export function announceReady(details: Omit<Ready, "type"> = {}): void {
  if (process.send && process.connected) process.send({ type: "ready", ...details } satisfies Ready);
}
