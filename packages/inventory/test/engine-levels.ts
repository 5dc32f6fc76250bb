/**
 * Readers of the levels and held units an engine-*.test.ts engine leaves (not a test file
 * itself).
 */
import { expect } from "vitest";
import { heldUnits, liveHoldUnits } from "./support";
import { env, heldKey } from "./engine-fixture";

export const cached = async (productId: string) => {
  const v = await env.redis.get(env.keys.stock(productId));
  return v === null ? null : Number(v);
};

/** Units the test's held hash counts for a product (null: no field). */
export const heldOf = async (tag: string, productId: string) => {
  const v = await env.redis.hget(heldKey(tag), productId);
  return v === null ? null : Number(v);
};

/** Cached level + held units per product: reserve and release move units between them, commit removes them. */
export async function totals(tag: string, productIds: string[]): Promise<number[]> {
  return Promise.all(productIds.map(async (p) => ((await cached(p)) ?? Number.NaN) + ((await heldOf(tag, p)) ?? 0)));
}

/** The held hash equals what the hold records of these orders say is still held. */
export async function expectHeldMatchesHolds(tag: string, orderIds: string[]): Promise<void> {
  const fromHolds = await liveHoldUnits(
    env.redis,
    orderIds.map((id) => env.keys.hold(id)),
  );
  expect(await heldUnits(env.redis, heldKey(tag))).toEqual(fromHolds);
}
