import type { RedisClient } from "@oms/shared";
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
  return { orderId, state: h.state as HoldState, expiresAt: Number(h.exp ?? 0), lines };
}
