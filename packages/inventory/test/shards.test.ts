/**
 * A cart whose products sit in different inventory shards (INVENTORY_SHARDS > 1): one
 * script per shard, shards reserved in ascending order, all or nothing across them,
 * replay-safe by order id; holds, expiry and the epoch marker per shard.
 */
import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { CacheNotReadyError, InventoryEngine, type StockLine } from "@oms/inventory";
import { createStandaloneTestEnv, type TestEnv } from "../../../test/support/env";
import { noTruth, stockLevels } from "./support";

const TTL = 60_000;
const NOW = 1_700_000_000_000;

let env: TestEnv<Redis>;
let engine: InventoryEngine;
beforeAll(async () => {
  env = await createStandaloneTestEnv({ INVENTORY_SHARDS: "4" });
  engine = new InventoryEngine(env.redis, env.keys, noTruth, { requireEpoch: true });
});
afterAll(async () => env?.close());

/** One new product in each of these shards (found by trying ids), its level set. */
async function productsIn(shards: number[], level: number): Promise<string[]> {
  const run = randomUUID().slice(0, 8);
  const ids = shards.map((shard) => {
    for (let i = 0; ; i++) {
      const id = `${run}-${shard}-${i}`;
      if (env.keys.shardOf(id) === shard) return id;
    }
  });
  for (const id of ids) await env.redis.set(env.keys.stock(id), level);
  return ids;
}

const levels = (ids: string[]) =>
  Promise.all(ids.map(async (id) => (await stockLevels(env.redis, [env.keys.stock(id)]))[0]));
const lines = (ids: string[], quantity = 1): StockLine[] => ids.map((productId) => ({ productId, quantity }));
const partState = async (orderId: string, shard: number) => env.redis.hget(env.keys.hold(orderId, shard), "state");

describe("a cart across shards", () => {
  test("takes every shard's lines, one hold part per shard; commit ends every part", async () => {
    const ids = await productsIn([0, 2, 3], 5);
    const orderId = randomUUID();
    expect(await engine.reserve(orderId, lines(ids, 2), TTL, NOW)).toEqual({ ok: true, replayed: false });
    expect(await levels(ids)).toEqual([3, 3, 3]);
    expect(await Promise.all([0, 1, 2, 3].map((shard) => partState(orderId, shard)))).toEqual([
      "held",
      null,
      "held",
      "held",
    ]);
    expect((await engine.hold(orderId))?.lines.map((l) => l.productId).sort()).toEqual([...ids].sort());

    expect(await engine.beginCommit(orderId)).toEqual({ ok: true });
    expect(await engine.commit(orderId)).toEqual({ ok: true });
    for (const shard of [0, 2, 3]) {
      expect(await partState(orderId, shard)).toBe("committed");
      expect(await env.redis.hlen(env.keys.held(shard))).toBe(0);
    }
    expect(await levels(ids)).toEqual([3, 3, 3]);
  });

  test("a later shard short of stock: the parts taken before it are given back, nothing stays held", async () => {
    const [a = "", b = "", c = ""] = await productsIn([0, 1, 3], 4);
    await env.redis.set(env.keys.stock(c), 1);
    const orderId = randomUUID();
    expect(await engine.reserve(orderId, lines([a, b, c], 2), TTL, NOW)).toEqual({
      ok: false,
      reason: "insufficient_stock",
      productId: c,
      available: 1,
    });
    expect(await levels([a, b, c])).toEqual([4, 4, 1]);
    expect(await engine.liveHoldIds(100)).not.toContain(orderId);
    for (const shard of [0, 1]) expect(await partState(orderId, shard)).toBe("released");
    // A replay of the refused reservation finds the released parts and takes nothing.
    expect(await engine.reserve(orderId, lines([a, b, c], 2), TTL, NOW)).toEqual({
      ok: false,
      reason: "hold_released",
    });
    expect(await levels([a, b, c])).toEqual([4, 4, 1]);
  });

  test("a replay, however often, takes the stock once; release gives it back once, from every shard", async () => {
    const ids = await productsIn([1, 2], 3);
    const orderId = randomUUID();
    await engine.reserve(orderId, lines(ids), TTL, NOW);
    expect(await engine.reserve(orderId, lines(ids), TTL, NOW)).toEqual({ ok: true, replayed: true });
    expect(await levels(ids)).toEqual([2, 2]);
    expect(await engine.release(orderId)).toEqual({ ok: true, replayed: false });
    expect(await engine.release(orderId)).toEqual({ ok: true, replayed: true });
    expect(await levels(ids)).toEqual([3, 3]);
  });

  test("expiry sweeps each shard's parts; a part already paying is left alone", async () => {
    const ids = await productsIn([0, 3], 3);
    const expiring = randomUUID();
    const paying = randomUUID();
    await engine.reserve(expiring, lines(ids), TTL, NOW);
    await engine.reserve(paying, lines(ids), TTL, NOW);
    await engine.beginCommit(paying);
    expect(await engine.sweepExpired(NOW + TTL + 1)).toBeGreaterThanOrEqual(2);
    for (const shard of [0, 3]) {
      expect(await partState(expiring, shard)).toBe("released");
      expect(await partState(paying, shard)).toBe("committing");
    }
    expect(await levels(ids)).toEqual([2, 2]);
  });
});

describe("a shard that lost its part of a hold (its node restarted empty)", () => {
  test("payment does not start: the part is missing where the order's products say it must be; a replay takes it again", async () => {
    const ids = await productsIn([0, 2], 3);
    const orderId = randomUUID();
    await engine.reserve(orderId, lines(ids), TTL, NOW);
    await env.redis.del(env.keys.hold(orderId, 2));
    await env.redis.set(env.keys.stock(ids[1] ?? ""), 3);

    expect(await engine.beginCommit(orderId, ids)).toEqual({ ok: false, reason: "hold_not_found" });
    // The part that stands is already marked paying (expiry leaves it alone); the
    // order's end releases or commits it like any other.
    expect(await partState(orderId, 0)).toBe("committing");
    // The delivery that reserves again finds shard 0's part and takes shard 2's anew.
    expect(await engine.reserve(orderId, lines(ids), TTL, NOW)).toEqual({ ok: true, replayed: false });
    expect(await levels(ids)).toEqual([2, 2]);
    expect(await engine.beginCommit(orderId, ids)).toEqual({ ok: true });
  });
});

describe("the epoch marker per shard", () => {
  test("a shard whose marker is gone refuses to load its levels; the other shards load", async () => {
    const truth = async (ids: string[]) => new Map(ids.map((id) => [id, 7]));
    const loading = new InventoryEngine(env.redis, env.keys, truth, { requireEpoch: true });
    const [inLost = "", inKept = ""] = await productsIn([2, 1], 0);
    await env.redis.del(env.keys.stock(inLost), env.keys.stock(inKept));
    const marker = await env.redis.get(env.keys.epoch(2));
    await env.redis.del(env.keys.epoch(2));
    try {
      await expect(loading.load([inLost])).rejects.toBeInstanceOf(CacheNotReadyError);
      expect(await loading.load([inKept])).toEqual([]);
      expect(await levels([inKept])).toEqual([7]);
    } finally {
      await env.redis.set(env.keys.epoch(2), marker ?? "test");
    }
  });
});
