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

  try {
    const short = await shortLine(deps, clientID);
    if (short) {
      return failure(409, `not enough stock of ${short.productId}: ${short.available} available`, {
        state: "failed",
        productID: short.productId,
        available: short.available,
      });
    }
  } catch (err) {
    return infrastructureFailure(err);
  }

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
    const job: CheckoutJob = {
      type: "checkout",
      replyTo: deps.replyTo,
      orderId,
      clientId: clientID,
      paymentToken,
      requestId: ctx.requestId,
    };
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

/**
 * The sold-out fast path: the API's copy of the cart against the cached levels, two
 * Redis reads and no queue. It only ever turns a checkout away when a line is short
 * right now; anything it cannot tell (no copy, uncached level) goes to the workers,
 * which decide for real.
 */
async function shortLine(deps: ApiDeps, clientID: string): Promise<{ productId: string; available: number } | null> {
  if (deps.config.INVENTORY_MODE !== "redis") return null;
  const mirror = await deps.redis.hgetall(deps.keys.cartMirror(clientID));
  const lines = Object.entries(mirror);
  if (lines.length === 0) return null;
  const levels = await deps.redis.mget(lines.map(([productId]) => deps.keys.stock(productId)));
  for (const [i, [productId, quantity]] of lines.entries()) {
    const level = levels[i];
    if (level !== null && level !== undefined && Number(level) < Number(quantity))
      return { productId, available: Math.max(0, Number(level)) };
  }
  return null;
}
