/**
 * The sibling of useSystem() for files that call the workers' code directly: a test
 * environment of their own and the workers' dependencies over it (no queue consumers,
 * no API), made before the file's tests and closed after them.
 */
import { afterAll, beforeAll } from "vitest";
import { createLogger } from "@oms/shared";
import { createWorkerDeps, type WorkerDeps } from "@oms/workers";
import { createTestEnv, type TestEnv } from "./env";

export interface StartedDeps {
  env: TestEnv;
  deps: WorkerDeps;
}

/** Registers the file's beforeAll and afterAll; `onStart` hands over the env and deps. */
export function useWorkerDeps(overrides: Record<string, string>, onStart: (started: StartedDeps) => void): void {
  const started: Partial<StartedDeps> = {};
  beforeAll(async () => {
    const env = await createTestEnv(overrides);
    started.env = env;
    const deps = createWorkerDeps(env.config, createLogger("silent", "workers-test"));
    started.deps = deps;
    onStart({ env, deps });
  });
  afterAll(async () => {
    await started.deps?.close();
    await started.env?.close();
  });
}
