/**
 * The system the operator-*.test.ts files run against (not a test file itself): the real
 * Redis and MariaDB with a cart worker in this process, and three APIs on them: one with
 * the admin surface (ADMIN_TOKEN, VIEWER_TOKEN), one without (no admin token), one that
 * takes clients' JWTs (JWT_SECRET). operator-calls.ts calls them, operator-state.ts makes
 * and reads what they act on.
 */
import { afterAll, beforeAll } from "vitest";
import { createTestEnv, type TestEnv } from "../../../../test/support/env";
import {
  startApi,
  startInProcessWorkers,
  type InProcessWorkers,
  type RunningApi,
} from "../../../../test/support/system";

export const ADMIN_TOKEN = "admin-token-for-operator-tests";
export const VIEWER_TOKEN = "viewer-token-for-operator-tests";
export const JWT_SECRET = "a-jwt-secret-of-at-least-32-characters!";

export let env: TestEnv;
let workers: InProcessWorkers;
/** Admin surface enabled. */
export let api: RunningApi;
/** No ADMIN_TOKEN: the admin surface must not exist. */
export let disabled: RunningApi;
/** JWT_SECRET set: cart routes need a client token. */
export let jwtApi: RunningApi;

/** Starts this file's worker and three APIs, and stops them after its tests. */
export function setUpOperatorSystem(): void {
  beforeAll(async () => {
    env = await createTestEnv({ ADMIN_TOKEN, VIEWER_TOKEN });
    workers = await startInProcessWorkers(env, { WORKER_QUEUES: ["cart"] });
    [api, disabled, jwtApi] = await Promise.all([
      startApi(env),
      startApi(env, { ADMIN_TOKEN: undefined, VIEWER_TOKEN: undefined }),
      startApi(env, { JWT_SECRET }),
    ]);
  });

  afterAll(async () => {
    await Promise.all([api?.close(), disabled?.close(), jwtApi?.close()]);
    await workers?.close();
    await env?.close();
  });
}
