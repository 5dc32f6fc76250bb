/**
 * The chaos suite's checkpoint hook: a worker SIGKILLs itself when it reaches the
 * checkpoint CHAOS_CRASH_AT names, at most CHAOS_CRASH_LIMIT times per checkpoint across
 * all workers (counted in Redis). Read by the chaos suite's worker entry point only;
 * production's workers have no such setting.
 */
import { z } from "zod";
import { integer, loadSettings, type Keyspace } from "@oms/shared";
import { CHECKPOINTS, type CheckpointContext, type CheckpointHook } from "@oms/workers";

export const CrashSchema = z.object({
  CHAOS_CRASH_AT: z
    .enum(CHECKPOINTS)
    .optional()
    .describe("The checkpoint at which a worker kills itself (unset: never)"),
  CHAOS_CRASH_LIMIT: integer(1, { min: 0 }).describe("How many such crashes of that checkpoint across all workers"),
});

/** The hook CHAOS_CRASH_AT asks for, or none; a bad value throws a ConfigError naming it. */
export function crashHookFromEnv(
  env: Record<string, string | undefined> = process.env,
): ((context: CheckpointContext) => CheckpointHook) | undefined {
  const { CHAOS_CRASH_AT: point, CHAOS_CRASH_LIMIT: limit } = loadSettings(CrashSchema, env);
  if (!point) return undefined;
  return ({ redis, keys, logger }) =>
    async (reached) => {
      if (reached !== point) return;
      const crashes = await redis.incr(chaosCrashCounter(keys, point));
      if (crashes > limit) return;
      logger.warn({ point }, "chaos: killing this worker");
      process.kill(process.pid, "SIGKILL");
      await new Promise(() => undefined);
    };
}

/** One counter per checkpoint, so the crashes of one never use up another's. */
export function chaosCrashCounter(keys: Keyspace, point: string): string {
  return keys.chaosCrashes(point);
}
