/**
 * A worker process wired as production's, plus the chaos suite's checkpoint hook
 * (CHAOS_CRASH_AT, CHAOS_CRASH_LIMIT): the suite spawns this instead of
 * apps/workers/src/main.ts for a worker it wants to die at a checkpoint.
 */
import { runEntryPoint } from "@oms/shared";
import { runWorkerProcess } from "@oms/workers";
import { crashHookFromEnv } from "./crash-hook";

runEntryPoint("workers", async () => {
  const checkpoint = crashHookFromEnv();
  await runWorkerProcess(checkpoint ? { checkpoint } : {});
});
