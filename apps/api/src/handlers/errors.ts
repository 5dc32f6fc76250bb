import { CacheNotReadyError } from "@oms/inventory";
import { isDbUnavailable } from "@oms/shared";
import { failure, unavailable, type HttpResult } from "../http/result";

/** Redis refused or dropped the command: the queues and stock cache are out of reach. */
export function isRedisUnavailable(err: unknown): boolean {
  const message = err instanceof Error ? err.message : "";
  return /Stream isn't writeable|Connection is closed|ECONNREFUSED|max retries|enableOfflineQueue|timed out enqueueing/i.test(
    message,
  );
}

/** Maps an unexpected error to a response that names the missing service, never the internals. */
export function infrastructureFailure(err: unknown): HttpResult {
  const answer = isRedisUnavailable(err)
    ? unavailable("the queue (Redis)")
    : err instanceof CacheNotReadyError
      ? unavailable("the stock cache (being rebuilt)")
      : isDbUnavailable(err)
        ? unavailable("the database")
        : failure("INTERNAL", "internal error");
  return { ...answer, cause: err };
}

/** A job that failed for good: infrastructure trouble by construction (business outcomes are values). */
export function jobFailure(reason: string): HttpResult {
  const answer = /ECONNREFUSED|ETIMEDOUT|PROTOCOL_CONNECTION_LOST|KnexTimeoutError|Timeout acquiring/i.test(reason)
    ? unavailable("the database")
    : failure("DEPENDENCY_UNAVAILABLE", "the request could not be completed; try again", {}, { "Retry-After": "2" });
  return { ...answer, cause: `job failed: ${reason}` };
}

/** Bounds an enqueue, so a Redis that hangs becomes a 503 rather than a hung request. */
export async function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("timed out enqueueing")), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
