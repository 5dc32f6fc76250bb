/**
 * Sent once over the IPC channel when a process of ours serves (the API listens, a
 * worker consumes, the autoscaler measures): a parent waits for this, never for a log
 * line, whose wording is for people.
 */
export interface Ready {
  type: "ready";
}

export function isReady(message: unknown): message is Ready {
  return typeof message === "object" && message !== null && (message as { type?: unknown }).type === "ready";
}

/** Tells a parent with an IPC channel (a supervisor, the bench, a test) that this process serves. */
export function announceReady(): void {
  if (process.send && process.connected) process.send({ type: "ready" } satisfies Ready);
}
