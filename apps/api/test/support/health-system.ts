/**
 * The system the operator-health, operator-request-ids and operator-shutdown tests run
 * against (not a test file itself): the real Redis and MariaDB, in-process workers and an
 * API, and `cleanups` for the processes and servers single tests start, run after the
 * file's tests even when a test fails. The shared Redis on 6379 is never stopped.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll } from "vitest";
import { createTestEnv, insertProducts, type TestEnv } from "../../../../test/support/env";
import { startApi, startInProcessWorkers } from "../../../../test/support/system";
import type { InProcessWorkers, RunningApi } from "../../../../test/support/system";

export let env: TestEnv;
let workers: InProcessWorkers;
export let api: RunningApi;
/** Processes and servers single tests start, stopped in afterAll even when a test fails. */
export const cleanups: Array<() => Promise<unknown>> = [];

/** Starts this file's workers and API, and after its tests runs the cleanups and stops them. */
export function setUpHealthSystem(): void {
  beforeAll(async () => {
    env = await createTestEnv();
    [workers, api] = await Promise.all([startInProcessWorkers(env), startApi(env)]);
  });

  afterAll(async () => {
    // Bounded: a client whose Redis a failed test left dead must not hang the file.
    for (const cleanup of cleanups.reverse()) await Promise.race([cleanup().catch(() => undefined), sleep(10_000)]);
    await api?.close();
    await workers?.close();
    await env?.close();
  });
}

export const uid = (tag: string) => `${tag}-${randomUUID()}`;
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function product(quantity: number, priceCents = 100): Promise<string> {
  const id = uid("p");
  await insertProducts(env.db, [{ id, quantity, priceCents }]);
  return id;
}
