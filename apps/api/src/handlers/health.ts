import type { ApiDeps } from "../deps";
import type { HttpResult } from "../http/result";

/** GET /healthz: the process is alive. */
export function healthz(): HttpResult {
  return { status: 200, body: { status: "ok" } };
}

/** GET /readyz: Redis and MySQL answer. */
export async function readyz(deps: ApiDeps): Promise<HttpResult> {
  const [redis, mysql] = await Promise.all([probe(() => deps.redis.ping()), probe(() => deps.db.raw("SELECT 1"))]);
  const ready = redis && mysql;
  return { status: ready ? 200 : 503, body: { status: ready ? "ready" : "not ready", checks: { redis, mysql } } };
}

async function probe(check: () => Promise<unknown>): Promise<boolean> {
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => setTimeout(() => reject(new Error("timeout")), 1_000).unref()),
    ]);
    return true;
  } catch {
    return false;
  }
}
