/**
 * release.lua called directly (see scripts-fixture.ts), and the engine's sweep of expired
 * holds: stock comes back exactly once, only for a hold that is neither committed nor
 * (in "expired" mode) committing or still live, and only to the keys the hold recorded.
 */
import { describe, expect, test } from "vitest";
import { InventoryCode as C, InventoryEngine, type InventoryKeys } from "@oms/inventory";
import { noTruth } from "./support";
import { beginCommit, commit, release, reserve } from "./scripts-calls";
import { env, keys, NOW, redis, RETENTION, setUpScripts, TTL } from "./scripts-fixture";
import { expiryScore, held, holdExists, holdHash, setStock, stock, total } from "./scripts-state";

setUpScripts();

describe("release.lua", () => {
  test("releasing twice returns the stock exactly once; the second reply is replayed=1", async () => {
    await setStock({ "l1-a": 10, "l1-b": 10 });
    await reserve("l1", [
      ["l1-a", 4],
      ["l1-b", 1],
    ]);
    expect(await stock("l1-a", "l1-b")).toEqual([6, 9]);
    expect(await held("l1-a", "l1-b")).toEqual([4, 1]);

    expect(await release("l1", ["l1-a", "l1-b"])).toEqual([C.OK, 0]);
    expect(await stock("l1-a", "l1-b")).toEqual([10, 10]);
    // A count that reaches 0 is deleted, not left behind as "0".
    expect(await held("l1-a", "l1-b")).toEqual([null, null]);

    expect(await release("l1", ["l1-a", "l1-b"])).toEqual([C.OK, 1]);
    expect(await release("l1", ["l1-a", "l1-b"], "expired", NOW + TTL)).toEqual([C.OK, 1]);
    expect(await stock("l1-a", "l1-b")).toEqual([10, 10]);
    expect(await held("l1-a", "l1-b")).toEqual([null, null]);

    const hold = await holdHash("l1");
    expect(hold.state).toBe("released");
    expect(await expiryScore("l1")).toBeNull();
    // The ended record is kept for the retention period, then disappears.
    const pttl = await redis.pttl(keys.hold("l1"));
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(RETENTION);
  });

  test("release takes only its own units off the held count of a product other holds still hold", async () => {
    await setStock({ "l8-a": 10, "l8-b": 10 });
    await reserve("l8-1", [
      ["l8-a", 2],
      ["l8-b", 1],
    ]);
    await reserve("l8-2", [["l8-a", 3]]);
    expect(await held("l8-a", "l8-b")).toEqual([5, 1]);

    expect(await release("l8-1", ["l8-a", "l8-b"])).toEqual([C.OK, 0]);
    expect(await held("l8-a", "l8-b")).toEqual([3, null]);
    expect(await release("l8-1", ["l8-a", "l8-b"])).toEqual([C.OK, 1]);
    expect(await held("l8-a", "l8-b")).toEqual([3, null]);
    expect(await total("l8-a", "l8-b")).toEqual([10, 10]);

    expect(await release("l8-2", ["l8-a"])).toEqual([C.OK, 0]);
    expect(await held("l8-a")).toEqual([null]);
    expect(await stock("l8-a", "l8-b")).toEqual([10, 10]);
  });

  test("a committed hold is never released: HOLD_COMMITTED in both modes and no stock comes back", async () => {
    await setStock({ "l2-a": 10 });
    await reserve("l2", [["l2-a", 3]]);
    expect(await commit("l2")).toEqual([C.OK]);

    expect(await release("l2", ["l2-a"])).toEqual([C.HOLD_COMMITTED, 0]);
    expect(await release("l2", ["l2-a"], "expired", NOW + 10 * TTL)).toEqual([C.HOLD_COMMITTED, 0]);

    expect(await stock("l2-a")).toEqual([7]);
    expect(await held("l2-a")).toEqual([null]);
    expect((await holdHash("l2")).state).toBe("committed");
  });

  test('a hold in "committing" is not released by "expired" mode (NOT_EXPIRED), even long past its expiry', async () => {
    await setStock({ "l3-a": 10 });
    await reserve("l3", [["l3-a", 3]]);
    expect(await beginCommit("l3")).toEqual([C.OK]);

    expect(await release("l3", ["l3-a"], "expired", NOW + TTL)).toEqual([C.NOT_EXPIRED, 0]);
    expect(await release("l3", ["l3-a"], "expired", NOW + 100 * TTL)).toEqual([C.NOT_EXPIRED, 0]);

    expect(await stock("l3-a")).toEqual([7]);
    expect(await held("l3-a")).toEqual([3]);
    expect((await holdHash("l3")).state).toBe("committing");
  });

  test('"any" mode does release a committing hold (payment failed), exactly once', async () => {
    await setStock({ "l3b-a": 10 });
    await reserve("l3b", [["l3b-a", 3]]);
    await beginCommit("l3b");
    expect(await release("l3b", ["l3b-a"])).toEqual([C.OK, 0]);
    expect(await release("l3b", ["l3b-a"])).toEqual([C.OK, 1]);
    expect(await stock("l3b-a")).toEqual([10]);
    expect(await held("l3b-a")).toEqual([null]);
  });

  test('"expired" mode releases a held hold whose time has passed (boundary inclusive), not one still live', async () => {
    await setStock({ "l4-a": 10 });
    await reserve("l4-old", [["l4-a", 2]], NOW, TTL); // expires at NOW + TTL
    await reserve("l4-new", [["l4-a", 3]], NOW + TTL, TTL); // expires at NOW + 2 TTL
    expect(await stock("l4-a")).toEqual([5]);

    expect(await release("l4-old", ["l4-a"], "expired", NOW + TTL - 1)).toEqual([C.NOT_EXPIRED, 0]);
    expect(await stock("l4-a")).toEqual([5]);
    expect(await held("l4-a")).toEqual([5]);

    expect(await release("l4-old", ["l4-a"], "expired", NOW + TTL)).toEqual([C.OK, 0]);
    expect(await release("l4-new", ["l4-a"], "expired", NOW + TTL)).toEqual([C.NOT_EXPIRED, 0]);

    expect(await stock("l4-a")).toEqual([7]);
    expect(await held("l4-a")).toEqual([3]);
    expect((await holdHash("l4-old")).state).toBe("released");
    expect((await holdHash("l4-new")).state).toBe("held");
    expect(await expiryScore("l4-old")).toBeNull();
    expect(await expiryScore("l4-new")).toBe(String(NOW + 2 * TTL));
  });

  test("engine.sweepExpired(now) releases the expired held holds and leaves live and committing ones alone", async () => {
    // Its own prefix region: other tests' holds must not be swept here.
    const sweepKeys: InventoryKeys = {
      shards: [0],
      shardOf: () => 0,
      stock: (p) => keys.stock(`sweep-${p}`),
      hold: (o) => keys.hold(`sweep-${o}`),
      holdExpiries: () => `${keys.holdExpiries()}:sweep`,
      held: () => `${keys.held()}:sweep`,
      epoch: () => keys.epoch(),
      stockChanges: (p) => keys.stockChanges(`sweep-${p}`),
    };
    const engine = new InventoryEngine(env.redis, sweepKeys, noTruth, { retentionMs: RETENTION });
    await redis.set(sweepKeys.stock("a"), 20);
    const reserveAt = (orderId: string, qty: number, now: number) =>
      redis.omsReserve(
        4,
        sweepKeys.hold(orderId),
        sweepKeys.holdExpiries(),
        sweepKeys.held(),
        sweepKeys.stock("a"),
        orderId,
        now,
        TTL,
        "a",
        qty,
      );
    const heldA = async () => Number(await redis.hget(sweepKeys.held(), "a"));

    expect(await reserveAt("expired-1", 1, NOW)).toEqual([C.OK, 0, 0, 0]);
    expect(await reserveAt("expired-2", 2, NOW + 10)).toEqual([C.OK, 0, 0, 0]);
    expect(await reserveAt("paying", 4, NOW)).toEqual([C.OK, 0, 0, 0]);
    expect(await reserveAt("live", 8, NOW + TTL)).toEqual([C.OK, 0, 0, 0]);
    expect(await redis.omsBeginCommit(sweepKeys.hold("paying"), sweepKeys.holdExpiries(), "paying")).toEqual([C.OK]);
    expect(await redis.get(sweepKeys.stock("a"))).toBe("5");
    expect(await heldA()).toBe(15);

    expect(await engine.sweepExpired(NOW + TTL + 10)).toBe(2);

    expect(await redis.get(sweepKeys.stock("a"))).toBe("8");
    // The swept units left the held count (4 paying + 8 live remain): 8 + 12 is still 20.
    expect(await heldA()).toBe(12);
    expect(await redis.hget(sweepKeys.hold("expired-1"), "state")).toBe("released");
    expect(await redis.hget(sweepKeys.hold("expired-2"), "state")).toBe("released");
    expect(await redis.hget(sweepKeys.hold("paying"), "state")).toBe("committing");
    expect(await redis.hget(sweepKeys.hold("live"), "state")).toBe("held");
    expect(await redis.zrange(sweepKeys.holdExpiries(), 0, -1)).toEqual(["live", "paying"]);

    // A second sweep at the same time finds nothing more to do.
    expect(await engine.sweepExpired(NOW + TTL + 10)).toBe(0);
    expect(await redis.get(sweepKeys.stock("a"))).toBe("8");
    expect(await heldA()).toBe(12);
  });

  test("stock keys that differ from the recorded ones answer KEY_MISMATCH and change nothing", async () => {
    await setStock({ "l5-a": 10, "l5-b": 10, "l5-other": 10 });
    await reserve("l5", [
      ["l5-a", 1],
      ["l5-b", 2],
    ]);
    const before = await stock("l5-a", "l5-b", "l5-other");

    const wrongKeys: Array<[string, string[]]> = [
      ["swapped order", ["l5-b", "l5-a"]],
      ["a different product", ["l5-a", "l5-other"]],
      ["too few keys", ["l5-a"]],
      ["too many keys", ["l5-a", "l5-b", "l5-other"]],
      ["no keys", []],
    ];
    for (const [label, productIds] of wrongKeys) {
      expect(await release("l5", productIds), label).toEqual([C.KEY_MISMATCH, 0]);
      expect(await release("l5", productIds, "expired", NOW + TTL), `${label} (expired mode)`).toEqual([
        C.KEY_MISMATCH,
        0,
      ]);
    }

    expect(await stock("l5-a", "l5-b", "l5-other")).toEqual(before);
    expect(await held("l5-a", "l5-b", "l5-other")).toEqual([1, 2, null]);
    expect((await holdHash("l5")).state).toBe("held");
    expect(await expiryScore("l5")).toBe(String(NOW + TTL));

    // The right keys still work afterwards.
    expect(await release("l5", ["l5-a", "l5-b"])).toEqual([C.OK, 0]);
    expect(await stock("l5-a", "l5-b")).toEqual([10, 10]);
    expect(await held("l5-a", "l5-b")).toEqual([null, null]);
  });

  test("releasing a hold whose stock key was lost with the cache does not recreate that key, but ends its held units", async () => {
    await setStock({ "l6-a": 10, "l6-lost": 10 });
    await reserve("l6", [
      ["l6-a", 2],
      ["l6-lost", 3],
    ]);
    await redis.del(keys.stock("l6-lost"));
    expect(await held("l6-a", "l6-lost")).toEqual([2, 3]);

    expect(await release("l6", ["l6-a", "l6-lost"])).toEqual([C.OK, 0]);

    expect(await stock("l6-a", "l6-lost")).toEqual([10, null]);
    expect(await held("l6-a", "l6-lost")).toEqual([null, null]);
    expect((await holdHash("l6")).state).toBe("released");
    expect(await expiryScore("l6")).toBeNull();
  });

  test("releasing an unknown hold answers HOLD_NOT_FOUND, drops a stale expiry entry and leaves the held hash alone", async () => {
    await setStock({ "l7-a": 10 });
    await reserve("l7-other", [["l7-a", 2]]);
    await redis.zadd(keys.holdExpiries(), NOW, "l7-ghost");
    expect(await release("l7-ghost", [])).toEqual([C.HOLD_NOT_FOUND, 0]);
    expect(await release("l7-ghost", ["l7-a"])).toEqual([C.HOLD_NOT_FOUND, 0]);
    expect(await held("l7-a")).toEqual([2]);
    expect(await stock("l7-a")).toEqual([8]);
    expect(await expiryScore("l7-ghost")).toBeNull();
    expect(await holdExists("l7-ghost")).toBe(false);
  });
});
