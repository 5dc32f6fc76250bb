import { withTimeout } from "@oms/shared";
import type { ApiDeps } from "../deps";
import type { HttpResult } from "../http/result";

/** Heartbeats older than this mean the worker stopped consuming (they beat every 5 s). */
const HEARTBEAT_FRESH_MS = 15_000;

/** GET /healthz: the process is alive. */
export function healthz(): HttpResult {
  return { status: 200, body: { status: "ok" } };
}

/** GET /readyz: Redis and MySQL answer, and at least one worker is consuming. */
export async function readyz(deps: ApiDeps): Promise<HttpResult> {
  const [redis, mysql, workers] = await Promise.all([
    probe(() => deps.redis.ping()),
    probe(() => deps.db.raw("SELECT 1")),
    probe(async () => {
      const live = await deps.redis.zcount(deps.keys.workerHeartbeats, Date.now() - HEARTBEAT_FRESH_MS, "+inf");
      if (live === 0) throw new Error("no live workers");
    }),
  ]);
  const ready = redis && mysql && workers;
  return {
    status: ready ? 200 : 503,
    body: { status: ready ? "ready" : "not ready", checks: { redis, mysql, workers } },
  };
}

async function probe(check: () => Promise<unknown>): Promise<boolean> {
  try {
    await withTimeout(check(), 1_000, "a readiness check");
    return true;
  } catch {
    // A failed or slow check is the answer itself: the probe reports it as not ready.
    return false;
  }
}
