import { randomUUID } from "node:crypto";
import type { CartJob } from "@oms/shared";
import type { ApiDeps } from "../deps";
import { failure, type HttpResult } from "../http/result";
import { infrastructureFailure, jobFailure, withDeadline } from "./errors";

/**
 * Enqueues a cart job and waits (bounded by CART_TIMEOUT_MS) for the worker's result:
 * the round trip every cart route makes. Answers the worker's value, or the HTTP
 * failure that stands for the queue being out of reach, a timeout or a failed job.
 */
export async function runCartJob(
  deps: ApiDeps,
  job: CartJob,
  timeoutMessage: string,
): Promise<{ ok: true; value: unknown } | { ok: false; result: HttpResult }> {
  const jobId = randomUUID();
  const outcome = deps.results.cart.wait(jobId, deps.config.CART_TIMEOUT_MS);
  try {
    await withDeadline(deps.queues.cart.add(job.type, job, { jobId }), 2_000);
  } catch (err) {
    return { ok: false, result: infrastructureFailure(err) };
  }
  const result = await outcome;
  switch (result.kind) {
    case "timeout":
      return { ok: false, result: failure("TIMEOUT", timeoutMessage, { jobId }) };
    case "failed":
      return { ok: false, result: jobFailure(result) };
    case "completed":
      return { ok: true, value: result.value };
  }
}
