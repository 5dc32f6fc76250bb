/**
 * The system the add-to-cart*.http.test.ts files run against (not a test file itself):
 * the real BullMQ queue and a cart worker in this process, the real Redis and MariaDB.
 * Scenarios that need a different wiring (no worker, dead Redis, a worker without MySQL)
 * run under their own key prefix (isolatedPrefix) so the file's worker cannot pick up
 * their jobs, and register what they start in `closers`, closed after the file's tests.
 */
import { afterAll, beforeAll } from "vitest";
import { withTimeout } from "@oms/shared";
import { createTestEnv, removeKeysOf, type TestEnv } from "../../../../test/support/env";
import { startApi, startInProcessWorkers } from "../../../../test/support/system";
import type { InProcessWorkers, RunningApi } from "../../../../test/support/system";

export let env: TestEnv;
export let api: RunningApi;
let workers: InProcessWorkers;
/** APIs and workers started by single tests, closed in afterAll even when a test fails. */
export const closers: Array<() => Promise<void>> = [];
/** Extra key prefixes (hash tags) used by single tests; their keys are removed in afterAll. */
const extraPrefixes: string[] = [];

/** Starts this file's cart worker and API, and after its tests closes them and what single tests started. */
export function setUpAddToCart(): void {
  beforeAll(async () => {
    env = await createTestEnv();
    workers = await startInProcessWorkers(env, { WORKER_QUEUES: ["cart"] });
    api = await startApi(env);
  });

  afterAll(async () => {
    await Promise.all(
      closers.map((close) => withTimeout(close(), 15_000, "closing a test's API").catch(() => undefined)),
    );
    await api?.close();
    await workers?.close();
    if (env) {
      for (const prefix of extraPrefixes) await removeKeysOf(env.redis, prefix);
      await env.close();
    }
  });
}

/** A close function that runs once; later calls share the first call's promise. */
export function once(close: () => Promise<void>): () => Promise<void> {
  let closing: Promise<void> | undefined;
  return () => (closing ??= close());
}

/** A key prefix of this file that no worker of the file consumes. */
export function isolatedPrefix(tag: string): string {
  const prefix = `${env.id}_${tag}`;
  extraPrefixes.push(prefix);
  return prefix;
}
