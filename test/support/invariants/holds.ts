/**
 * Holds still alive in Redis, read shard by shard: on a Cluster each stock shard has its
 * own expiry set and hold records in its own slot, so no single command sees them all.
 */
import { scanAll } from "../env";
import type { StateSource } from "./figures";

export interface HoldFigures {
  /** Per shard: its expiry set and the holds in it (of the products examined, when scoped). */
  expiring: Array<{ set: string; orderIds: string[] }>;
  /** Hold records still "held" or "committing", as `orderId=state`. */
  open: string[];
  /** Hold records examined. */
  records: number;
}

/** Whether a hold record touches one of these stock keys; null when there is no record. */
async function holdTouches({ redis, keys }: StateSource, orderId: string, stockKeys: Set<string>) {
  const parts = await Promise.all(keys.shards.map((shard) => redis.hgetall(keys.hold(orderId, shard))));
  const found = parts.filter((hold) => hold.state);
  if (found.length === 0) return null;
  return found.some((hold) =>
    Object.entries(hold).some(([field, value]) => /^k\d+$/.test(field) && stockKeys.has(value)),
  );
}

/**
 * Live holds: members of the expiry sets and hold records still "held" or "committing".
 * With `productIds`, only those touching these products (an expiry-set member with no
 * record at all counts too: nothing says it is another test's); null examines all.
 */
export async function readHolds(source: StateSource, productIds: string[] | null): Promise<HoldFigures> {
  const { redis, keys } = source;
  const stockKeys = productIds && new Set(productIds.map((id) => keys.stock(id)));
  const figures: HoldFigures = { expiring: [], open: [], records: 0 };
  for (const shard of keys.shards) {
    const set = keys.holdExpiries(shard);
    const orderIds: string[] = [];
    for (const orderId of await redis.zrange(set, 0, -1))
      if (!stockKeys || (await holdTouches(source, orderId, stockKeys)) !== false) orderIds.push(orderId);
    figures.expiring.push({ set, orderIds });
    const prefix = keys.hold("", shard);
    for (const key of await scanAll(redis, `${prefix}*`)) {
      figures.records++;
      const orderId = key.slice(prefix.length);
      const state = await redis.hget(key, "state");
      if (state !== "held" && state !== "committing") continue;
      if (!stockKeys || (await holdTouches(source, orderId, stockKeys))) figures.open.push(`${orderId}=${state}`);
    }
  }
  return figures;
}
