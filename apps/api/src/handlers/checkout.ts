import { randomUUID } from "node:crypto";
import { CheckOutCartRequest, type CheckoutJob, type CheckoutResult } from "@oms/shared";
import type { ApiDeps } from "../deps";
import { failure, parseInput, success, type HttpResult } from "../http/result";
import type { RequestContext } from "./cart";
import { infrastructureFailure, jobFailure, withDeadline } from "./errors";

export interface CheckoutOptions {
  /** `Prefer: respond-async`: answer 202 as soon as the checkout is queued. */
  respondAsync: boolean;
}

/**
 * POST /checkOutCart. One checkout per client at a time: a second submit while one
 * runs joins it (same order id, same answer) instead of making a second order.
 */
export async function checkOutCart(
  deps: ApiDeps,
  body: unknown,
  ctx: RequestContext,
  options: CheckoutOptions,
): Promise<HttpResult> {
  const input = parseInput(CheckOutCartRequest, body);
  if (!input.ok) return input.result;
  const { clientID, paymentToken } = input.data;

  let orderId: string = randomUUID();
  let joined = false;
  try {
    const lockKey = deps.keys.checkoutLock(clientID);
    const acquired = await deps.redis.set(lockKey, orderId, "PX", deps.config.CHECKOUT_LOCK_TTL_MS, "NX");
    if (acquired === null) {
      const owner = await deps.redis.get(lockKey);
      if (owner) {
        orderId = owner;
        joined = true;
      }
    }
  } catch (err) {
    return infrastructureFailure(err);
  }

  const outcome = options.respondAsync
    ? null
    : deps.results.checkout.wait(orderId, deps.config.CHECKOUT_TIMEOUT_MS, joined);
  if (!joined) {
    const job: CheckoutJob = { type: "checkout", orderId, clientId: clientID, paymentToken, requestId: ctx.requestId };
    try {
      await withDeadline(deps.queues.checkout.add("checkout", job, { jobId: orderId }), 2_000);
    } catch (err) {
      await deps.redis.del(deps.keys.checkoutLock(clientID)).catch(() => undefined);
      return infrastructureFailure(err);
    }
  }
  if (!outcome) return pending(orderId);

  const result = await outcome;
  switch (result.kind) {
    case "timeout":
      return pending(orderId);
    case "failed":
      return jobFailure(result.reason);
    case "completed":
      return checkoutAnswer(result.value as CheckoutResult);
  }
}

function pending(orderId: string): HttpResult {
  return {
    status: 202,
    body: { status: "Pending", error: "", orderId, state: "pending" },
    headers: { Location: `/orders/${orderId}` },
  };
}

export function checkoutAnswer(result: CheckoutResult): HttpResult {
  switch (result.outcome) {
    case "completed":
      return success({ orderId: result.orderId, state: "completed", totalCents: result.totalCents });
    case "declined":
      return failure(402, result.reason, { orderId: result.orderId, state: "failed" });
    case "out_of_stock":
      return failure(409, `not enough stock of ${result.productId}`, {
        orderId: result.orderId,
        state: "failed",
        productID: result.productId,
        available: result.available,
      });
    case "empty_cart":
      return failure(400, "the cart is empty");
    case "failed":
      return failure(409, result.reason, { orderId: result.orderId, state: "failed" });
  }
}
