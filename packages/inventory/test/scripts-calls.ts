/**
 * Raw calls of each inventory Lua script, with KEYS and ARGV as the engine passes them,
 * for the scripts-*.test.ts files (not a test file itself).
 */
import { env, keys, NOW, redis, RETENTION, TTL } from "./scripts-fixture";

export type Line = [productId: string, quantity: number | string];

/** KEYS: hold, expiry set, held hash, stock keys; ARGV: id, now, ttl, product ids, then quantities. */
export function reserve(orderId: string, lines: Line[], now = NOW, ttl = TTL): Promise<unknown> {
  const stockKeys = lines.map(([productId]) => keys.stock(productId));
  return redis.omsReserve(
    stockKeys.length + 3,
    keys.hold(orderId),
    keys.holdExpiries(),
    keys.held(),
    ...stockKeys,
    orderId,
    now,
    ttl,
    ...lines.map(([productId]) => productId),
    ...lines.map(([, quantity]) => quantity),
  );
}

export function releaseWithKeys(
  orderId: string,
  stockKeys: string[],
  mode: "any" | "expired" = "any",
  now = NOW,
): Promise<unknown> {
  return redis.omsRelease(
    stockKeys.length + 3,
    keys.hold(orderId),
    keys.holdExpiries(),
    keys.held(),
    ...stockKeys,
    orderId,
    RETENTION,
    mode,
    now,
  );
}

export function release(
  orderId: string,
  productIds: string[],
  mode: "any" | "expired" = "any",
  now = NOW,
): Promise<unknown> {
  return releaseWithKeys(
    orderId,
    productIds.map((p) => keys.stock(p)),
    mode,
    now,
  );
}

export const beginCommit = (orderId: string) => redis.omsBeginCommit(keys.hold(orderId), keys.holdExpiries(), orderId);
export const commit = (orderId: string) =>
  redis.omsCommit(keys.hold(orderId), keys.holdExpiries(), keys.held(), orderId, RETENTION);
export const restock = (productId: string, delta: number | string) =>
  redis.omsAdjustLevel(keys.stock(productId), delta);
export const checkoutUnlock = (clientId: string, orderId: string) =>
  redis.omsCheckoutUnlock(env.keys.checkoutLock(clientId), orderId);
export const reconcile = (
  productId: string,
  truth: number | string,
  mode: string = "check",
  expectedDrift: number | string = 0,
) =>
  redis.omsReconcile(
    3,
    keys.stock(productId),
    keys.held(),
    keys.stockChanges(productId),
    productId,
    truth,
    mode,
    expectedDrift,
  );
