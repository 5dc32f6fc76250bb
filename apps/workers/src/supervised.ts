/**
 * A worker the autoscaler starts gets an IPC channel to it. The channel closes when the
 * autoscaler exits in any way, SIGKILL included, which no signal would tell the worker:
 * it runs in its own process group. Without this it would go on consuming, untracked,
 * beside the workers of the next autoscaler.
 */
export function onSupervisorGone(callback: () => void): void {
  // Started without a channel (by hand, by Kubernetes): nothing supervises it this way.
  if (!process.send) return;
  // The channel must not keep a worker alive that is done otherwise.
  process.channel?.unref();
  // Its output went to the supervisor too: writes to the broken pipe must not kill the drain.
  for (const stream of [process.stdout, process.stderr]) stream.on("error", () => undefined);
  if (!process.connected) {
    callback();
    return;
  }
  process.once("disconnect", callback);
}

/** What a worker sends its supervisor over the IPC channel. */
export interface SupervisorMessage {
  type: "heartbeat";
}

export function isHeartbeat(message: unknown): message is SupervisorMessage {
  return typeof message === "object" && message !== null && (message as { type?: unknown }).type === "heartbeat";
}

/** Worker heartbeats to the supervisor: one a second while the event loop turns. */
export const SUPERVISOR_HEARTBEAT_MS = 1_000;

/**
 * Tells the supervisor, every second, that this process's event loop still turns. A
 * frozen (SIGSTOP) or blocked process stops sending, and the supervisor replaces it:
 * its jobs' locks lapse, but nothing else would give them to a process that runs.
 */
export function beatToSupervisor(): () => void {
  if (!process.send) return () => undefined;
  const beat = () => {
    if (process.connected) process.send?.({ type: "heartbeat" } satisfies SupervisorMessage);
  };
  beat();
  const timer = setInterval(beat, SUPERVISOR_HEARTBEAT_MS);
  timer.unref();
  return () => clearInterval(timer);
}
