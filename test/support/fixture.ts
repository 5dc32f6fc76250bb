/**
 * The vitest fixture most HTTP test files share: a system of their own (database, Redis
 * prefix, in-process workers and the API), started once before the file's tests and
 * stopped after them, what did start being stopped even when a later part failed.
 */
import { afterAll, beforeAll } from "vitest";
import { createTestEnv, type TestEnv } from "./env";
import { startApi, startInProcessWorkers, type InProcessWorkers, type RunningApi } from "./system";

export interface StartedSystem {
  env: TestEnv;
  /** Absent when the file asked for no API (`api: false`). */
  api: RunningApi;
  /** Absent when the file asked for no workers (`workers: false`). */
  workers: InProcessWorkers;
}

/**
 * Registers the file's beforeAll and afterAll (register the file's own hooks after it:
 * its beforeAll then runs once the system is up, its afterAll before the system stops).
 * `onStart` hands the started parts over, so a file keeps its own `env`, `api` and
 * `workers` variables. `apiFirst` starts the API before the workers (the default is
 * workers first, so a request never waits for them).
 */
export function useSystem(
  overrides: Record<string, string>,
  onStart: (system: StartedSystem) => void,
  options: { apiFirst?: boolean; api?: boolean; workers?: boolean } = {},
): void {
  const { api = true, workers = true } = options;
  const started: Partial<StartedSystem> = {};
  beforeAll(async () => {
    const env = await createTestEnv(overrides);
    started.env = env;
    if (api && options.apiFirst) started.api = await startApi(env);
    if (workers) started.workers = await startInProcessWorkers(env);
    if (api) started.api ??= await startApi(env);
    onStart(started as StartedSystem);
  });
  afterAll(async () => {
    await started.api?.close();
    await started.workers?.close();
    await started.env?.close();
  });
}
