import { CacheNotReadyError } from "@oms/inventory";
import { CodedError, errorCode, isDbUnavailable, isRedisUnavailable, withTimeout, type ErrorCode } from "@oms/shared";
import { failure, unavailable, type HttpResult } from "../http/result";

/** An enqueue that did not finish in time: Redis hangs, so the queue is out of reach. */
export class EnqueueDeadlineError extends CodedError {
  constructor(ms: number) {
    super("TIMEOUT", `timed out enqueueing after ${ms} ms`);
    this.name = "EnqueueDeadlineError";
  }
}

/** Redis refused, dropped or did not take the command: the queues and stock cache are out of reach. */
function isQueueUnreachable(err: unknown): boolean {
  return err instanceof EnqueueDeadlineError || isRedisUnavailable(err) || errorCode(err) === "ECONNREFUSED";
}

/** Maps an unexpected error to a response that names the missing service, never the internals. */
export function infrastructureFailure(err: unknown): HttpResult {
  const answer = isQueueUnreachable(err)
    ? unavailable("the queue (Redis)")
    : err instanceof CacheNotReadyError
      ? unavailable("the stock cache (being rebuilt)")
      : isDbUnavailable(err)
        ? unavailable("the database")
        : failure("INTERNAL", "internal error");
  return { ...answer, cause: err };
}

/**
 * A job that failed for good: infrastructure trouble by construction (business outcomes
 * are values). The worker classified it (`code`); its reason is only logged.
 */
export function jobFailure(failed: { reason: string; code?: ErrorCode }): HttpResult {
  const answer =
    failed.code === "DEPENDENCY_UNAVAILABLE"
      ? unavailable("the database")
      : failure("DEPENDENCY_UNAVAILABLE", "the request could not be completed; try again", {}, { "Retry-After": "2" });
  return { ...answer, cause: `job failed (${failed.code ?? "no code"}): ${failed.reason}` };
}

/** Bounds an enqueue, so a Redis that hangs becomes a 503 rather than a hung request. */
export function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  return withTimeout(promise, ms, () => new EnqueueDeadlineError(ms));
}
