import type { RedisClient } from "@oms/shared";
import { z } from "zod";
import { byShard, type HoldState, type HoldView, type InventoryKeys, type StockLine } from "./types";

/** Cached stock levels, one MGET per shard (a shard's keys share a slot); uncached ones are absent. */
export async function cachedLevels(
  redis: RedisClient,
  keys: InventoryKeys,
  productIds: string[],
): Promise<Map<string, number>> {
  const levels = new Map<string, number>();
  await Promise.all(
    byShard(keys, productIds, (id) => id).map(async ([, ids]) => {
      const values = await redis.mget(ids.map((id) => keys.stock(id)));
      ids.forEach((id, i) => {
        const v = values[i];
        if (v !== null && v !== undefined) levels.set(id, Number(v));
      });
    }),
  );
  return levels;
}

/** A hold hash as reserve.lua writes it (state, exp, n, then p<i>/q<i> per line); null when absent. */
export function parseHold(orderId: string, h: Record<string, string>): HoldView | null {
  if (!h.state) return null;
  const lines: StockLine[] = [];
  for (let i = 1; i <= Number(h.n ?? 0); i++) lines.push({ productId: h[`p${i}`] ?? "", quantity: Number(h[`q${i}`]) });
  return { orderId, state: holdState.parse(h.state), expiresAt: Number(h.exp ?? 0), lines };
}

const holdState = z.enum(["held", "committing", "committed", "released"]) satisfies z.ZodType<HoldState>;

/** One shard's part of an order's hold, or null when that shard has none. */
export async function holdPart(
  redis: RedisClient,
  keys: InventoryKeys,
  orderId: string,
  shard: number,
): Promise<HoldView | null> {
  return parseHold(orderId, await redis.hgetall(keys.hold(orderId, shard)));
}

/**
 * The first line of a cart (a hash of product id -> quantity) that the cached levels
 * cannot cover, or null. Uncached levels count as covered, and so is everything while
 * the checkout lock is held: this is a fast refusal, never the reservation. The cart
 * copy, the levels and the lock live in different slots, so this reads them in turn:
 * the lock last, so a checkout of this client that took a level down while it was
 * read is joined, not refused. `edited` says whether the copy carries `editedMark`
 * (the caller's sign that it may run ahead of the cart of record), read with the lines
 * in the one HGETALL of the copy, so the two always agree.
 */
export async function cartShortfall(
  redis: RedisClient,
  keys: InventoryKeys,
  { cartKey, checkoutLockKey, editedMark }: { cartKey: string; checkoutLockKey: string; editedMark: string },
): Promise<{ productId: string; available: number; edited: boolean } | null> {
  const copy = await redis.hgetall(cartKey);
  const cart = Object.entries(copy).filter(([field]) => field !== editedMark);
  if (cart.length === 0) return null;
  const levels = await cachedLevels(
    redis,
    keys,
    cart.map(([productId]) => productId),
  );
  const short = cart.find(([productId, quantity]) => (levels.get(productId) ?? Infinity) < Number(quantity));
  if (!short || (await redis.exists(checkoutLockKey))) return null;
  return {
    productId: short[0],
    available: Math.max(0, levels.get(short[0]) ?? 0),
    edited: Object.hasOwn(copy, editedMark),
  };
}
