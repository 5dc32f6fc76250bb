/**
 * The system the reads-*.http.test.ts files run against (not a test file itself): the
 * real Redis and MariaDB, a cart worker in this process (a consuming worker, so that
 * readiness, which wants a live worker heartbeat, can be met) and the API; and what the
 * files share to check a failed read.
 */
import { randomUUID } from "node:crypto";
import { expect } from "vitest";
import type { TestEnv } from "../../../../test/support/env";
import type { ApiBody, RunningApi } from "../../../../test/support/system";
import { useSystem } from "../../../../test/support/fixture";

export let env: TestEnv;
export let api: RunningApi;

/** Starts this file's cart worker and API, and stops them after its tests. */
export function setUpReads(): void {
  useSystem({ WORKER_QUEUES: "cart" }, (system) => ({ env, api } = system));
}

export const uid = (tag: string) => `${tag}-${randomUUID()}`;

export function expectFailure(body: ApiBody, message: RegExp): void {
  expect(body.status).toBe("Failed");
  expect(body.error).toMatch(message);
}
