import type { RedisClient } from "@oms/shared";
import type { Config, Keyspace, Logger } from "@oms/shared";

/** Where a worker may be told to die: after a saga step, or inside a group-commit transaction. */
export type CrashPoint = NonNullable<Config["CHAOS_CRASH_AT"]>;

/**
 * Testing only (CHAOS_CRASH_AT): the process SIGKILLs itself when it reaches the chosen
 * point, at most CHAOS_CRASH_LIMIT times per point across all workers (counted in Redis).
 * Undefined when no point is chosen, so production code pays nothing for it.
 */
export function chaosKiller(
  config: Pick<Config, "CHAOS_CRASH_AT" | "CHAOS_CRASH_LIMIT">,
  redis: RedisClient,
  keys: Keyspace,
  logger: Logger,
): ((reached: CrashPoint) => Promise<void>) | undefined {
  const { CHAOS_CRASH_AT: point, CHAOS_CRASH_LIMIT: limit } = config;
  if (!point) return undefined;
  return async (reached) => {
    if (reached !== point) return;
    const crashes = await redis.incr(chaosCrashCounter(keys, point));
    if (crashes > limit) return;
    logger.warn({ point }, "chaos: killing this worker");
    process.kill(process.pid, "SIGKILL");
    await new Promise(() => undefined);
  };
}

/** One counter per point, so the crashes of one point never use up another's. */
export function chaosCrashCounter(keys: Keyspace, point: string): string {
  return keys.chaosCrashes(point);
}
