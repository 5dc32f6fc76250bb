/**
 * A process started by a supervisor of ours (`npm start` for the API and the autoscaler,
 * the autoscaler for its workers) gets an IPC channel to it. The channel closes when the
 * supervisor exits in any way, SIGKILL included, which no signal would tell the child.
 * Without this the child would go on running, untracked, beside the children of the
 * next supervisor. `callback` should stop the process as SIGTERM does (drain, then exit).
 */
export function onSupervisorGone(callback: () => void): void {
  // Started without a channel (by hand, by Kubernetes): nothing supervises it this way.
  if (!process.send) return;
  // The channel must not keep a process alive that is done otherwise.
  process.channel?.unref();
  // Its output may have gone to the supervisor: writes to the broken pipe must not kill the drain.
  for (const stream of [process.stdout, process.stderr]) stream.on("error", () => undefined);
  if (!process.connected) {
    callback();
    return;
  }
  process.once("disconnect", callback);
}

/**
 * Calls `stop` once, on the first of SIGTERM, SIGINT or the supervisor's channel closing:
 * a second signal during a drain must not start another one.
 */
export function onStopRequest(stop: (why: string) => void): void {
  let requested = false;
  const once = (why: string) => {
    if (requested) return;
    requested = true;
    stop(why);
  };
  process.on("SIGTERM", () => once("SIGTERM"));
  process.on("SIGINT", () => once("SIGINT"));
  // Under a supervisor of ours: if it dies, stop as on SIGTERM rather than run on untracked.
  onSupervisorGone(() => once("supervisor gone"));
}
