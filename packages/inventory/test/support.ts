/** Helpers shared by the inventory tests (not a test file itself). */
import type { Redis } from "ioredis";
import type { TruthSource } from "@oms/inventory";

/** A truth source that must never be consulted (the test pre-loads every level). */
export const noTruth: TruthSource = async (ids) => {
  throw new Error(`truth source consulted unexpectedly for ${ids.join(", ")}`);
};

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Every key matching a glob pattern (SCAN, so it is safe on a shared server). */
export async function scanKeys(redis: Redis, match: string): Promise<string[]> {
  const found = new Set<string>();
  let cursor = "0";
  do {
    const [next, batch] = await redis.scan(cursor, "MATCH", match, "COUNT", 1000);
    cursor = next;
    for (const key of batch) found.add(key);
  } while (cursor !== "0");
  return [...found];
}

/** Cached stock levels as numbers (null when the key is absent). */
export async function stockLevels(redis: Redis, keys: string[]): Promise<Array<number | null>> {
  const values = await redis.mget(keys);
  return values.map((v) => (v === null ? null : Number(v)));
}

/** The units-held hash as numbers (product id -> units). */
export async function heldUnits(redis: Redis, heldKey: string): Promise<Map<string, number>> {
  const raw = await redis.hgetall(heldKey);
  return new Map(Object.entries(raw).map(([productId, units]) => [productId, Number(units)]));
}

/**
 * What the hold records say is held: per product, the units of every hold still
 * "held" or "committing" (the holds whose units the held hash must count).
 */
export async function liveHoldUnits(redis: Redis, holdKeys: string[]): Promise<Map<string, number>> {
  const units = new Map<string, number>();
  for (const key of holdKeys) {
    const h = await redis.hgetall(key);
    if (h.state !== "held" && h.state !== "committing") continue;
    for (let i = 1; i <= Number(h.n ?? 0); i++) {
      const productId = h[`p${i}`];
      if (productId === undefined) throw new Error(`${key} has no p${i}`);
      units.set(productId, (units.get(productId) ?? 0) + Number(h[`q${i}`]));
    }
  }
  return units;
}
