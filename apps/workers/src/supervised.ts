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
