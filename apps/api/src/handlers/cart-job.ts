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

/** The worker's answer for a product MySQL does not know. */
export function unknownProduct(productId: string): HttpResult {
  return failure("NOT_FOUND", `unknown product ${productId}`, { productID: productId });
}

/** The worker's answer for more than is available: what the cart (add) or the line (set) would hold. */
export function notEnoughStock(
  refused: { productId: string; available: number; requested: number },
  holder: "the cart" | "the line",
): HttpResult {
  return failure(
    "INSUFFICIENT_STOCK",
    `not enough stock of ${refused.productId}: ${refused.available} available, ${holder} would hold ${refused.requested}`,
    { productID: refused.productId, available: refused.available },
  );
}
