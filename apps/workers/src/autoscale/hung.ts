/**
 * Hung worker processes: consuming (ready), not retiring, and silent on their heartbeat
 * for longer than the bound. A frozen or blocked process keeps its jobs' locks until
 * they lapse and takes no others, and nothing else replaces it: it has not exited.
 * A process that never beat is not judged (another command, or still starting).
 */
export interface Heartbeating {
  readyAt: number | null;
  retiringAt: number | null;
  lastBeatAt: number | null;
}

export function hungWorkers<T extends Heartbeating>(procs: Iterable<T>, now: number, boundMs: number): T[] {
  return [...procs].filter(
    (p) => p.readyAt !== null && p.retiringAt === null && p.lastBeatAt !== null && now - p.lastBeatAt > boundMs,
  );
}

/** Checks the processes' heartbeats several times per bound; `onHung` once per hung process. */
export function watchHeartbeats<T extends Heartbeating>(options: {
  boundMs: number;
  procs: () => Iterable<T>;
  onHung: (proc: T, silentMs: number) => void;
}): () => void {
  const { boundMs, procs, onHung } = options;
  const everyMs = Math.min(1_000, Math.ceil(boundMs / 4));
  const judged = new WeakSet<T>();
  let lastCheckAt = Date.now();
  const timer = setInterval(() => {
    const now = Date.now();
    const late = now - lastCheckAt > everyMs * 3;
    lastCheckAt = now;
    if (late) {
      // This process was itself stalled (stopped, starved of CPU): the workers' beats wait
      // unread in the channels, so their silence says nothing. Judge from now on.
      for (const p of procs()) if (p.lastBeatAt !== null) p.lastBeatAt = now;
      return;
    }
    for (const p of hungWorkers(procs(), now, boundMs)) {
      if (judged.has(p)) continue;
      judged.add(p);
      onHung(p, now - (p.lastBeatAt ?? now));
    }
  }, everyMs);
  return () => clearInterval(timer);
}
