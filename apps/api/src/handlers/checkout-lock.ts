import { releaseCheckoutLock } from "@oms/inventory";
import { z } from "zod";
import { parseRow } from "@oms/shared";
import type { ApiDeps } from "../deps";

const StateRow = z.object({ state: z.string() });

export interface LockedCheckout {
  /** The order this request answers with: its own, or the running one it joined. */
  orderId: string;
  /** True when another request's checkout holds the lock and this one waits for it. */
  joined: boolean;
}

/**
 * One checkout per client at a time: takes the client's checkout lock for `orderId`, or
 * joins the checkout that holds it, but only while that checkout still runs. A lock
 * whose order already ended (a retry that raced the saga's unlock, a crash between a
 * lock and its release) is stale: it is released and taken again, so a new checkout is
 * never answered with an old order.
 */
export async function lockOrJoinCheckout(deps: ApiDeps, clientID: string, orderId: string): Promise<LockedCheckout> {
  const lockKey = deps.keys.checkoutLock(clientID);
  for (let attempt = 0; attempt < 3; attempt++) {
    const acquired = await deps.redis.set(lockKey, orderId, "PX", deps.config.CHECKOUT_LOCK_TTL_MS, "NX");
    if (acquired !== null) return { orderId, joined: false };
    const owner = await deps.redis.get(lockKey);
    if (owner === null) continue;
    if (owner === orderId || (await checkoutStillRuns(deps, owner))) return { orderId: owner, joined: true };
    await releaseCheckoutLock(deps.redis, lockKey, owner);
  }
  // Three stale owners in a row: another request keeps racing us for the lock; join
  // whatever holds it now rather than loop.
  const owner = await deps.redis.get(lockKey);
  return owner === null ? { orderId, joined: false } : { orderId: owner, joined: true };
}

/**
 * Whether the checkout of `orderId` may still end: its job has not finished, or (once
 * BullMQ has dropped a finished job) MySQL still has the order pending. An order known
 * to neither is a checkout whose job is being added right now.
 */
export async function checkoutStillRuns(deps: ApiDeps, orderId: string): Promise<boolean> {
  const job = await deps.queues.checkout.getJob(orderId);
  if (job) return !job.finishedOn;
  const row = parseRow(StateRow, await deps.db("orders").where({ order_id: orderId }).first("state"));
  return row === undefined || row.state === "pending";
}

/** Releases the lock if `orderId` still holds it: used once that order's answer is known. */
export async function releaseLockOf(deps: ApiDeps, clientID: string, orderId: string): Promise<void> {
  await releaseCheckoutLock(deps.redis, deps.keys.checkoutLock(clientID), orderId);
}
