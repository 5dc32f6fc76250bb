/**
 * Readers and writers of the Redis state the inventory scripts leave (levels, holds, the
 * expiry set, the held hash), for the scripts-*.test.ts files (not a test file itself).
 */
import { stockLevels } from "./support";
import { keys, redis } from "./scripts-fixture";

export async function setStock(levels: Record<string, number>): Promise<void> {
  for (const [productId, level] of Object.entries(levels)) await redis.set(keys.stock(productId), level);
}

export const stock = (...productIds: string[]) =>
  stockLevels(
    redis,
    productIds.map((p) => keys.stock(p)),
  );
export const holdHash = (orderId: string) => redis.hgetall(keys.hold(orderId));
export const holdExists = async (orderId: string) => (await redis.exists(keys.hold(orderId))) === 1;
export const expiryScore = (orderId: string) => redis.zscore(keys.holdExpiries(), orderId);
/** Units the held hash counts per product (null when the product has no field). */
export const held = async (...productIds: string[]) =>
  (await redis.hmget(keys.held(), ...productIds)).map((v) => (v === null ? null : Number(v)));
/**
 * available + held per product. Reserve, begin-commit and release only move units
 * between the two; commit is the one step that takes them away.
 */
export async function total(...productIds: string[]): Promise<number[]> {
  const [levels, units] = await Promise.all([stock(...productIds), held(...productIds)]);
  return productIds.map((_, i) => (levels[i] ?? Number.NaN) + (units[i] ?? 0));
}
