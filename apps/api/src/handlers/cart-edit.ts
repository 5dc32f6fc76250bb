import { releaseCheckoutLock } from "@oms/inventory";
import {
  ClearCartResult,
  SetCartLineRequest,
  SetCartLineResult,
  type ClearCartJob,
  type SetCartLineJob,
} from "@oms/shared";
import type { ApiDeps } from "../deps";
import { failure, parseId, parseInput, success, type HttpResult } from "../http/result";
import type { RequestContext } from "./cart";
import { notEnoughStock, runCartJob, unknownProduct } from "./cart-job";
import { checkoutStillRuns } from "./checkout-lock";
import { infrastructureFailure } from "./errors";

const TIMED_OUT = "the cart service did not answer in time; the change may still be applied";

/** PUT /cart/:clientID/items/:productID {quantity}: sets the line; 0 removes it. */
export async function setCartItem(
  deps: ApiDeps,
  clientID: string,
  productID: string,
  body: unknown,
  ctx: RequestContext,
): Promise<HttpResult> {
  const input = parseInput(SetCartLineRequest, body);
  if (!input.ok) return input.result;
  return setLine(deps, clientID, productID, input.data.quantity, ctx);
}

/** DELETE /cart/:clientID/items/:productID: the line goes (a line not in the cart is already gone: 200). */
export function removeCartItem(
  deps: ApiDeps,
  clientID: string,
  productID: string,
  ctx: RequestContext,
): Promise<HttpResult> {
  return setLine(deps, clientID, productID, 0, ctx);
}

async function setLine(
  deps: ApiDeps,
  clientID: string,
  productID: string,
  quantity: number,
  ctx: RequestContext,
): Promise<HttpResult> {
  const client = parseId("clientID", clientID);
  if (!client.ok) return client.result;
  const product = parseId("productID", productID);
  if (!product.ok) return product.result;
  const busy = await refuseDuringCheckout(deps, client.id);
  if (busy) return busy;
  const job: SetCartLineJob = {
    type: "setCartLine",
    replyTo: deps.replyTo,
    clientId: client.id,
    productId: product.id,
    quantity,
    requestId: ctx.requestId,
  };
  const done = await runCartJob(deps, job, TIMED_OUT);
  if (!done.ok) return done.result;
  const result = SetCartLineResult.parse(done.value);
  switch (result.outcome) {
    case "set":
      return success({
        clientID: client.id,
        productID: product.id,
        quantityInCart: result.quantityInCart,
        ...(result.available === null ? {} : { available: result.available }),
      });
    case "unknown_product":
      return unknownProduct(result.productId);
    case "insufficient_stock":
      return notEnoughStock(result, "the line");
    case "checkout_in_progress":
      return checkoutRunning(client.id);
  }
}

/** DELETE /cart/:clientID: every line goes. */
export async function clearCart(deps: ApiDeps, clientID: string, ctx: RequestContext): Promise<HttpResult> {
  const client = parseId("clientID", clientID);
  if (!client.ok) return client.result;
  const busy = await refuseDuringCheckout(deps, client.id);
  if (busy) return busy;
  const job: ClearCartJob = { type: "clearCart", replyTo: deps.replyTo, clientId: client.id, requestId: ctx.requestId };
  const done = await runCartJob(deps, job, TIMED_OUT);
  if (!done.ok) return done.result;
  const result = ClearCartResult.parse(done.value);
  switch (result.outcome) {
    case "cleared":
      return success({ clientID: client.id, removedLines: result.removedLines });
    case "checkout_in_progress":
      return checkoutRunning(client.id);
  }
}

/**
 * The quick refusal, before any queue: the client's checkout lock is held by a checkout
 * that still runs. A lock left by a checkout that ended (a crash between its end and
 * its unlock) is released instead, as a new checkout would. The worker checks again
 * (the lock, then a pending order under the cart rows' locks): this check alone could
 * race a checkout that starts just after it.
 */
async function refuseDuringCheckout(deps: ApiDeps, clientID: string): Promise<HttpResult | null> {
  const lockKey = deps.keys.checkoutLock(clientID);
  try {
    const owner = await deps.redis.get(lockKey);
    if (owner === null) return null;
    if (await checkoutStillRuns(deps, owner)) return checkoutRunning(clientID);
    await releaseCheckoutLock(deps.redis, lockKey, owner);
    return null;
  } catch (err) {
    return infrastructureFailure(err);
  }
}

function checkoutRunning(clientID: string): HttpResult {
  return failure(
    "CONFLICT",
    `a checkout of ${clientID}'s cart is in progress; change the cart once it has ended (GET /clients/${encodeURIComponent(clientID)}/orders)`,
  );
}
