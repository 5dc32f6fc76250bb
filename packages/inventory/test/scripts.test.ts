/**
 * The Lua scripts called directly through the commands defineInventoryScripts
 * registers, asserting the raw integer replies and the Redis state they leave.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Redis } from "ioredis";
import { InventoryCode as C, InventoryEngine, defineInventoryScripts, type InventoryKeys } from "@oms/inventory";
import { parseReply, type InventoryCommands } from "../src/scripts";
import { createStandaloneTestEnv, type TestEnv } from "../../../test/support/env";
import { noTruth, stockLevels } from "./support";

const NOW = 1_700_000_000_000;
const TTL = 60_000;
const RETENTION = 3_600_000;

let env: TestEnv<Redis>;
let redis: Redis & InventoryCommands;
let keys: InventoryKeys;

beforeAll(async () => {
  env = await createStandaloneTestEnv();
  redis = defineInventoryScripts(env.redis);
  keys = env.keys;
});
afterAll(async () => env?.close());

// --- raw script calls -------------------------------------------------------

type Line = [productId: string, quantity: number | string];

/** KEYS: hold, expiry set, held hash, stock keys; ARGV: id, now, ttl, product ids, then quantities. */
function reserve(orderId: string, lines: Line[], now = NOW, ttl = TTL): Promise<unknown> {
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

function releaseWithKeys(
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

function release(orderId: string, productIds: string[], mode: "any" | "expired" = "any", now = NOW): Promise<unknown> {
  return releaseWithKeys(
    orderId,
    productIds.map((p) => keys.stock(p)),
    mode,
    now,
  );
}

const beginCommit = (orderId: string) => redis.omsBeginCommit(keys.hold(orderId), keys.holdExpiries(), orderId);
const commit = (orderId: string) =>
  redis.omsCommit(keys.hold(orderId), keys.holdExpiries(), keys.held(), orderId, RETENTION);
const restock = (productId: string, delta: number | string) => redis.omsAdjustLevel(keys.stock(productId), delta);
const checkoutUnlock = (clientId: string, orderId: string) =>
  redis.omsCheckoutUnlock(env.keys.checkoutLock(clientId), orderId);
const reconcile = (
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

// --- state helpers ----------------------------------------------------------

async function setStock(levels: Record<string, number>): Promise<void> {
  for (const [productId, level] of Object.entries(levels)) await redis.set(keys.stock(productId), level);
}

const stock = (...productIds: string[]) =>
  stockLevels(
    redis,
    productIds.map((p) => keys.stock(p)),
  );
const holdHash = (orderId: string) => redis.hgetall(keys.hold(orderId));
const holdExists = async (orderId: string) => (await redis.exists(keys.hold(orderId))) === 1;
const expiryScore = (orderId: string) => redis.zscore(keys.holdExpiries(), orderId);
/** Units the held hash counts per product (null when the product has no field). */
const held = async (...productIds: string[]) =>
  (await redis.hmget(keys.held(), ...productIds)).map((v) => (v === null ? null : Number(v)));
/**
 * available + held per product. Reserve, begin-commit and release only move units
 * between the two; commit is the one step that takes them away.
 */
async function total(...productIds: string[]): Promise<number[]> {
  const [levels, units] = await Promise.all([stock(...productIds), held(...productIds)]);
  return productIds.map((_, i) => (levels[i] ?? Number.NaN) + (units[i] ?? 0));
}

// ---------------------------------------------------------------------------

describe("reserve.lua", () => {
  test("reserves every line of a multi-line cart: stock decremented, held counted, hold hash and expiry entry written", async () => {
    await setStock({ "r1-a": 10, "r1-b": 5, "r1-c": 1 });

    expect(
      await reserve("r1", [
        ["r1-a", 2],
        ["r1-b", 5],
        ["r1-c", 1],
      ]),
    ).toEqual([C.OK, 0, 0, 0]);

    expect(await stock("r1-a", "r1-b", "r1-c")).toEqual([8, 0, 0]);
    expect(await holdHash("r1")).toEqual({
      state: "held",
      exp: String(NOW + TTL),
      n: "3",
      k1: keys.stock("r1-a"),
      p1: "r1-a",
      q1: "2",
      k2: keys.stock("r1-b"),
      p2: "r1-b",
      q2: "5",
      k3: keys.stock("r1-c"),
      p3: "r1-c",
      q3: "1",
    });
    expect(await held("r1-a", "r1-b", "r1-c")).toEqual([2, 5, 1]);
    expect(await total("r1-a", "r1-b", "r1-c")).toEqual([10, 5, 1]);
    expect(await expiryScore("r1")).toBe(String(NOW + TTL));
    // A live hold never expires by itself: only release/commit end it.
    expect(await redis.pttl(keys.hold("r1"))).toBe(-1);
  });

  test("every script replies with RESP2 integers, i.e. JS numbers and never strings", async () => {
    await setStock({ "t-a": 3 });
    const replies = [
      await reserve("t1", [["t-a", 2]]),
      await reserve("t2", [["t-a", 2]]), // insufficient: carries line and available
      await reserve("t3", [["t-missing", 1]]),
      await reserve("t1", [["t-a", 2]]), // replay
      await beginCommit("t1"),
      await commit("t1"),
      await release("t1", ["t-a"]),
      await restock("t-a", 4),
      await restock("t-missing", 4),
      await checkoutUnlock("t-client", "t1"),
      await reconcile("t-a", 10),
      await reconcile("t-a", 10, "repair", 5),
      await reconcile("t-missing", 10),
      await reconcile("t-a", "inf"),
    ];
    expect(replies[1]).toEqual([C.INSUFFICIENT_STOCK, 1, 1, 0]);
    expect(replies[7]).toEqual([C.OK, 5]);
    expect(replies[10]).toEqual([C.OK, 5, 0]);
    expect(replies[11]).toEqual([C.OK, 5, 1]);
    for (const reply of replies) {
      expect(Array.isArray(reply)).toBe(true);
      // parseReply is what the engine reads every reply through: it throws on a non-integer.
      expect(parseReply(reply).length).toBeGreaterThan(0);
    }
  });

  test("one short line among several changes nothing: every stock key unchanged, no hold, no expiry entry", async () => {
    await setStock({ "r2-a": 10, "r2-b": 1, "r2-c": 10 });

    expect(
      await reserve("r2", [
        ["r2-a", 3],
        ["r2-b", 2],
        ["r2-c", 3],
      ]),
    ).toEqual([C.INSUFFICIENT_STOCK, 2, 1, 0]);

    expect(await stock("r2-a", "r2-b", "r2-c")).toEqual([10, 1, 10]);
    expect(await held("r2-a", "r2-b", "r2-c")).toEqual([null, null, null]);
    expect(await holdExists("r2")).toBe(false);
    expect(await expiryScore("r2")).toBeNull();
  });

  test("the last line being short also leaves the earlier lines untouched", async () => {
    await setStock({ "r2b-a": 4, "r2b-b": 0 });
    expect(
      await reserve("r2b", [
        ["r2b-a", 4],
        ["r2b-b", 1],
      ]),
    ).toEqual([C.INSUFFICIENT_STOCK, 2, 0, 0]);
    expect(await stock("r2b-a", "r2b-b")).toEqual([4, 0]);
    expect(await held("r2b-a", "r2b-b")).toEqual([null, null]);
    expect(await holdExists("r2b")).toBe(false);
  });

  test("a missing stock key answers NOT_LOADED for that line, changes nothing and does not create the key", async () => {
    await setStock({ "r3-a": 10 });

    expect(
      await reserve("r3", [
        ["r3-a", 1],
        ["r3-uncached", 1],
      ]),
    ).toEqual([C.NOT_LOADED, 2, 0, 0]);

    expect(await stock("r3-a", "r3-uncached")).toEqual([10, null]);
    expect(await held("r3-a", "r3-uncached")).toEqual([null, null]);
    expect(await holdExists("r3")).toBe(false);
    expect(await expiryScore("r3")).toBeNull();
  });

  test.each<[string, number | string]>([
    ["zero", 0],
    ["negative", -1],
    ["fractional", 1.5],
    ["non-numeric", "abc"],
    ["blank", ""],
  ])("a %s quantity (%s) answers INVALID_ARGUMENT for its line and changes nothing", async (_label, quantity) => {
    const orderId = `r4-${String(quantity)}`;
    await setStock({ "r4-a": 10, "r4-b": 10 });

    expect(
      await reserve(orderId, [
        ["r4-a", 1],
        ["r4-b", quantity],
      ]),
    ).toEqual([C.INVALID_ARGUMENT, 2, 0, 0]);

    expect(await stock("r4-a", "r4-b")).toEqual([10, 10]);
    expect(await held("r4-a", "r4-b")).toEqual([null, null]);
    expect(await holdExists(orderId)).toBe(false);
    expect(await expiryScore(orderId)).toBeNull();
  });

  test("a non-finite quantity ('inf') answers INVALID_ARGUMENT, like any other invalid quantity", async () => {
    // Redis Lua's tonumber("inf") is math.huge, which passes `q >= 1 and q == floor(q)`.
    await setStock({ "r4i-a": 10 });
    expect(await reserve("r4i", [["r4i-a", "inf"]])).toEqual([C.INVALID_ARGUMENT, 1, 0, 0]);
    expect(await stock("r4i-a")).toEqual([10]);
    expect(await held("r4i-a")).toEqual([null]);
    expect(await holdExists("r4i")).toBe(false);
  });

  test("a wrong number of product ids and quantities, or no lines at all, answers INVALID_ARGUMENT and changes nothing", async () => {
    await setStock({ "r5-a": 10, "r5-b": 10 });
    const twoLines = (...args: Array<string | number>) =>
      redis.omsReserve(
        5,
        keys.hold("r5"),
        keys.holdExpiries(),
        keys.held(),
        keys.stock("r5-a"),
        keys.stock("r5-b"),
        "r5",
        NOW,
        TTL,
        ...args,
      );
    const invalid = [C.INVALID_ARGUMENT, 0, 0, 0];

    // Quantities only (the layout before product ids were passed).
    expect(await twoLines(1, 1)).toEqual(invalid);
    // Both product ids, one quantity.
    expect(await twoLines("r5-a", "r5-b", 1)).toEqual(invalid);
    // Both product ids, three quantities.
    expect(await twoLines("r5-a", "r5-b", 1, 1, 1)).toEqual(invalid);
    // One product id too many.
    expect(await twoLines("r5-a", "r5-b", "r5-a", 1, 1)).toEqual(invalid);
    // No stock key at all.
    expect(await redis.omsReserve(3, keys.hold("r5"), keys.holdExpiries(), keys.held(), "r5", NOW, TTL)).toEqual(
      invalid,
    );

    expect(await stock("r5-a", "r5-b")).toEqual([10, 10]);
    expect(await held("r5-a", "r5-b")).toEqual([null, null]);
    expect(await holdExists("r5")).toBe(false);
  });

  test("quantities are read after all the product ids: ids that look like numbers are never taken for quantities", async () => {
    await setStock({ "900": 10, "901": 10 });

    expect(
      await reserve("r11", [
        ["900", 2],
        ["901", 3],
      ]),
    ).toEqual([C.OK, 0, 0, 0]);

    expect(await stock("900", "901")).toEqual([8, 7]);
    expect(await held("900", "901")).toEqual([2, 3]);
    expect(await holdHash("r11")).toMatchObject({ p1: "900", q1: "2", p2: "901", q2: "3" });
  });

  test("the held hash adds up the units of every hold per product, under the product id verbatim", async () => {
    const odd = "r12:{odd}:id";
    await setStock({ "r12-a": 20, [odd]: 5 });

    await reserve("r12-1", [["r12-a", 2]]);
    await reserve("r12-2", [
      ["r12-a", 3],
      [odd, 4],
    ]);
    await reserve("r12-3", [["r12-a", 5]]);

    expect(await held("r12-a", odd)).toEqual([10, 4]);
    expect(await redis.hexists(keys.held(), odd)).toBe(1);
    expect((await holdHash("r12-2")).p2).toBe(odd);
    expect(await total("r12-a", odd)).toEqual([20, 5]);
  });

  test("replaying a reservation id answers OK with replayed=1 and does not take the stock twice", async () => {
    await setStock({ "r6-a": 5, "r6-b": 5 });
    const lines: Line[] = [
      ["r6-a", 2],
      ["r6-b", 3],
    ];

    expect(await reserve("r6", lines)).toEqual([C.OK, 0, 0, 0]);
    const holdBefore = await holdHash("r6");

    // Same id, later clock: still a replay, the hold (and its expiry) are not rewritten.
    expect(await reserve("r6", lines, NOW + 5_000)).toEqual([C.OK, 0, 0, 1]);
    expect(await reserve("r6", lines)).toEqual([C.OK, 0, 0, 1]);

    // A replay with other lines is still a replay of what the id holds.
    expect(await reserve("r6", [["r6-a", 1]])).toEqual([C.OK, 0, 0, 1]);

    expect(await stock("r6-a", "r6-b")).toEqual([3, 2]);
    expect(await held("r6-a", "r6-b")).toEqual([2, 3]);
    expect(await holdHash("r6")).toEqual(holdBefore);
    expect(await expiryScore("r6")).toBe(String(NOW + TTL));
  });

  test("a replay succeeds even when the stock left could no longer cover the cart", async () => {
    await setStock({ "r7-a": 4 });
    expect(await reserve("r7", [["r7-a", 4]])).toEqual([C.OK, 0, 0, 0]);
    expect(await reserve("r7", [["r7-a", 4]])).toEqual([C.OK, 0, 0, 1]);
    expect(await stock("r7-a")).toEqual([0]);
    expect(await held("r7-a")).toEqual([4]);
  });

  test("reserving again after the same id was released answers HOLD_RELEASED and takes no stock", async () => {
    await setStock({ "r8-a": 5 });
    expect(await reserve("r8", [["r8-a", 2]])).toEqual([C.OK, 0, 0, 0]);
    expect(await release("r8", ["r8-a"])).toEqual([C.OK, 0]);
    expect(await stock("r8-a")).toEqual([5]);
    expect(await held("r8-a")).toEqual([null]);

    expect(await reserve("r8", [["r8-a", 2]])).toEqual([C.HOLD_RELEASED, 0, 0, 1]);

    expect(await stock("r8-a")).toEqual([5]);
    expect(await held("r8-a")).toEqual([null]);
    expect((await holdHash("r8")).state).toBe("released");
    expect(await expiryScore("r8")).toBeNull();
  });

  test("replaying a committed reservation answers OK replayed and takes no more stock", async () => {
    await setStock({ "r9-a": 5 });
    expect(await reserve("r9", [["r9-a", 2]])).toEqual([C.OK, 0, 0, 0]);
    expect(await commit("r9")).toEqual([C.OK]);
    expect(await reserve("r9", [["r9-a", 2]])).toEqual([C.OK, 0, 0, 1]);
    expect(await stock("r9-a")).toEqual([3]);
    expect(await held("r9-a")).toEqual([null]);
  });

  test("a cart listing the same product on two lines never drives its stock below zero", async () => {
    // Each line is checked against the level before any line is taken, so 3 + 3 passes
    // the check against 5 and both DECRBYs run.
    await setStock({ "r10-a": 5 });

    const reply = await reserve("r10", [
      ["r10-a", 3],
      ["r10-a", 3],
    ]);

    const [level] = await stock("r10-a");
    expect(level).toBeGreaterThanOrEqual(0);
    // 6 of 5 cannot be held: the cart is refused and nothing is taken.
    expect(parseReply(reply)[0]).not.toBe(C.OK);
    expect(level).toBe(5);
    expect(await held("r10-a")).toEqual([null]);
    expect(await holdExists("r10")).toBe(false);
  });
});

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

describe("begin-commit-2.lua and commit-3.lua", () => {
  test("begin-commit marks the hold committing, moves it to +inf in the expiry set (live, never expires), keeps its stock, and replays", async () => {
    await setStock({ "c1-a": 10 });
    await reserve("c1", [["c1-a", 4]]);

    expect(await beginCommit("c1")).toEqual([C.OK]);
    expect(await beginCommit("c1")).toEqual([C.OK]);

    expect((await holdHash("c1")).state).toBe("committing");
    expect(await expiryScore("c1")).toBe("inf");
    expect(await stock("c1-a")).toEqual([6]);
    // Still held: begin-commit only stops expiry, the units are not sold yet.
    expect(await held("c1-a")).toEqual([4]);
    expect(await redis.pttl(keys.hold("c1"))).toBe(-1);
  });

  test("commit after begin-commit marks it committed with a retention TTL, ends its held units; replays answer OK; stock stays sold", async () => {
    await setStock({ "c2-a": 10 });
    await reserve("c2", [["c2-a", 4]]);
    await beginCommit("c2");
    expect(await total("c2-a")).toEqual([10]);

    expect(await commit("c2")).toEqual([C.OK]);
    expect(await commit("c2")).toEqual([C.OK]);
    expect(await beginCommit("c2")).toEqual([C.OK]);

    expect((await holdHash("c2")).state).toBe("committed");
    expect(await expiryScore("c2")).toBeNull();
    expect(await stock("c2-a")).toEqual([6]);
    expect(await held("c2-a")).toEqual([null]);
    // The 4 committed units are gone from available + held for good.
    expect(await total("c2-a")).toEqual([6]);
    const pttl = await redis.pttl(keys.hold("c2"));
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(RETENTION);
  });

  test("commit straight from held also ends the hold", async () => {
    await setStock({ "c3-a": 10 });
    await reserve("c3", [["c3-a", 1]]);
    expect(await commit("c3")).toEqual([C.OK]);
    expect((await holdHash("c3")).state).toBe("committed");
    expect(await expiryScore("c3")).toBeNull();
    expect(await held("c3-a")).toEqual([null]);
  });

  test("commit takes only its own units off the held count, once, however often it is replayed", async () => {
    await setStock({ "c6-a": 10, "c6-b": 10 });
    await reserve("c6-1", [
      ["c6-a", 2],
      ["c6-b", 1],
    ]);
    await reserve("c6-2", [["c6-a", 3]]);

    expect(await commit("c6-1")).toEqual([C.OK]);
    expect(await held("c6-a", "c6-b")).toEqual([3, null]);
    for (let i = 0; i < 3; i++) expect(await commit("c6-1")).toEqual([C.OK]);
    expect(await beginCommit("c6-1")).toEqual([C.OK]);
    expect(await held("c6-a", "c6-b")).toEqual([3, null]);

    expect(await total("c6-a", "c6-b")).toEqual([8, 9]);
  });

  test("begin-commit and commit of an unknown hold answer HOLD_NOT_FOUND and create nothing", async () => {
    const heldBefore = await redis.hgetall(keys.held());
    expect(await beginCommit("c4-unknown")).toEqual([C.HOLD_NOT_FOUND]);
    expect(await commit("c4-unknown")).toEqual([C.HOLD_NOT_FOUND]);
    expect(await holdExists("c4-unknown")).toBe(false);
    expect(await redis.hgetall(keys.held())).toEqual(heldBefore);
  });

  test("begin-commit and commit of a released hold answer HOLD_RELEASED and leave it released", async () => {
    await setStock({ "c5-a": 10 });
    await reserve("c5", [["c5-a", 2]]);
    await release("c5", ["c5-a"]);

    expect(await beginCommit("c5")).toEqual([C.HOLD_RELEASED]);
    expect(await commit("c5")).toEqual([C.HOLD_RELEASED]);

    expect((await holdHash("c5")).state).toBe("released");
    expect(await stock("c5-a")).toEqual([10]);
    expect(await held("c5-a")).toEqual([null]);
  });
});

describe("the held hash across every script: available + held per product", () => {
  test("stays at the initial level through reserve, replays, begin-commit, release and expiry; only commit lowers it, by the committed units", async () => {
    await setStock({ "w-a": 20, "w-b": 10 });
    const both = ["w-a", "w-b"];
    type Step = [
      label: string,
      run: () => Promise<unknown>,
      reply: number[],
      held: Array<number | null>,
      total: number[],
    ];
    const w1: Line[] = [
      ["w-a", 2],
      ["w-b", 1],
    ];
    const w3: Line[] = [
      ["w-a", 1],
      ["w-b", 9],
    ];
    const w4: Line[] = [
      ["w-a", 1],
      ["w-b", 1],
    ];
    const steps: Step[] = [
      ["reserve w1", () => reserve("w1", w1), [C.OK, 0, 0, 0], [2, 1], [20, 10]],
      ["reserve w2", () => reserve("w2", [["w-a", 5]]), [C.OK, 0, 0, 0], [7, 1], [20, 10]],
      ["replay w1", () => reserve("w1", w1), [C.OK, 0, 0, 1], [7, 1], [20, 10]],
      ["reserve w3", () => reserve("w3", w3), [C.OK, 0, 0, 0], [8, 10], [20, 10]],
      ["short w4", () => reserve("w4", w4), [C.INSUFFICIENT_STOCK, 2, 0, 0], [8, 10], [20, 10]],
      ["begin-commit w2", () => beginCommit("w2"), [C.OK], [8, 10], [20, 10]],
      ["replay begin-commit w2", () => beginCommit("w2"), [C.OK], [8, 10], [20, 10]],
      ["release w1", () => release("w1", both), [C.OK, 0], [6, 9], [20, 10]],
      ["replay release w1", () => release("w1", both), [C.OK, 1], [6, 9], [20, 10]],
      ["early expiry of w3", () => release("w3", both, "expired", NOW + TTL - 1), [C.NOT_EXPIRED, 0], [6, 9], [20, 10]],
      ["expiry of w3", () => release("w3", both, "expired", NOW + TTL), [C.OK, 0], [5, null], [20, 10]],
      [
        "expiry of paying w2",
        () => release("w2", ["w-a"], "expired", NOW + TTL),
        [C.NOT_EXPIRED, 0],
        [5, null],
        [20, 10],
      ],
      ["commit w2", () => commit("w2"), [C.OK], [null, null], [15, 10]],
      ["replay commit w2", () => commit("w2"), [C.OK], [null, null], [15, 10]],
      ["release committed w2", () => release("w2", ["w-a"]), [C.HOLD_COMMITTED, 0], [null, null], [15, 10]],
      ["replay reserve w2", () => reserve("w2", [["w-a", 5]]), [C.OK, 0, 0, 1], [null, null], [15, 10]],
      ["reserve w1 again", () => reserve("w1", [["w-a", 1]]), [C.HOLD_RELEASED, 0, 0, 1], [null, null], [15, 10]],
      ["reserve w5", () => reserve("w5", [["w-b", 4]]), [C.OK, 0, 0, 0], [null, 4], [15, 10]],
      ["commit w5 from held", () => commit("w5"), [C.OK], [null, null], [15, 6]],
    ];
    for (const [label, run, reply, units, sum] of steps) {
      expect(await run(), label).toEqual(reply);
      expect(await held(...both), label).toEqual(units);
      expect(await total(...both), label).toEqual(sum);
    }
    expect(await stock(...both)).toEqual([15, 6]);
  });
});

describe("adjust-level-1.lua", () => {
  test("a cached level takes the signed change and the reply carries the new level", async () => {
    await setStock({ "s1-a": 3 });
    expect(await restock("s1-a", 7)).toEqual([C.OK, 10]);
    expect(await restock("s1-a", -4)).toEqual([C.OK, 6]);
    expect(await restock("s1-a", 0)).toEqual([C.OK, 6]);
    expect(await stock("s1-a")).toEqual([6]);
  });

  test("a guarded decrease takes the level down to zero, never below, and leaves increases alone", async () => {
    await setStock({ "s5-a": 5 });
    const guarded = (delta: number) => redis.omsAdjustLevel(keys.stock("s5-a"), delta, "guarded");
    expect(await guarded(-6)).toEqual([C.INSUFFICIENT_STOCK, 5]);
    expect(await stock("s5-a")).toEqual([5]);
    expect(await guarded(-5)).toEqual([C.OK, 0]);
    expect(await guarded(-1)).toEqual([C.INSUFFICIENT_STOCK, 0]);
    expect(await guarded(3)).toEqual([C.OK, 3]);
    // Unguarded, a correction may still take a level below zero (the reconciler's view).
    expect(await restock("s5-a", -4)).toEqual([C.OK, -1]);
  });

  test("an uncached level answers NOT_LOADED and the key is not created", async () => {
    expect(await restock("s2-uncached", 5)).toEqual([C.NOT_LOADED, 0]);
    expect(await redis.exists(keys.stock("s2-uncached"))).toBe(0);
  });

  test.each<[string, number | string]>([
    ["fractional", 1.5],
    ["non-numeric", "abc"],
    ["blank", ""],
  ])("a %s change (%s) answers INVALID_ARGUMENT and leaves the level alone", async (_label, delta) => {
    await setStock({ "s3-a": 3 });
    expect(await restock("s3-a", delta)).toEqual([C.INVALID_ARGUMENT, 0]);
    expect(await stock("s3-a")).toEqual([3]);
  });

  test("a non-finite change ('inf') answers INVALID_ARGUMENT instead of raising a script error", async () => {
    // tonumber("inf") passes `delta == floor(delta)`, then INCRBY rejects "inf" with an error.
    await setStock({ "s4-a": 3 });
    await expect(restock("s4-a", "inf")).resolves.toEqual([C.INVALID_ARGUMENT, 0]);
    expect(await stock("s4-a")).toEqual([3]);
  });
});

describe("reconcile.lua", () => {
  test("check mode answers MySQL's figure minus (available + held) and changes nothing", async () => {
    await setStock({ "k1-a": 10 });
    await reserve("k1", [["k1-a", 3]]);
    expect(await stock("k1-a")).toEqual([7]);

    expect(await reconcile("k1-a", 10)).toEqual([C.OK, 0, 0]);
    expect(await reconcile("k1-a", 14)).toEqual([C.OK, 4, 0]);
    expect(await reconcile("k1-a", 6)).toEqual([C.OK, -4, 0]);
    // A figure below zero (more pending in MySQL than quantity) is still a figure.
    expect(await reconcile("k1-a", -2)).toEqual([C.OK, -12, 0]);

    expect(await stock("k1-a")).toEqual([7]);
    expect(await held("k1-a")).toEqual([3]);
  });

  test("a product nothing holds counts 0 held, and checking it creates no held field", async () => {
    await setStock({ "k2-a": 5 });
    expect(await reconcile("k2-a", 8)).toEqual([C.OK, 3, 0]);
    expect(await redis.hexists(keys.held(), "k2-a")).toBe(0);
    expect(await stock("k2-a")).toEqual([5]);
  });

  test("repair mode moves the available level by the drift when it equals ARGV[4], and never touches held", async () => {
    await setStock({ "k3-a": 10 });
    await reserve("k3", [["k3-a", 4]]);

    expect(await reconcile("k3-a", 12, "repair", 2)).toEqual([C.OK, 2, 1]);
    expect(await stock("k3-a")).toEqual([8]);
    expect(await held("k3-a")).toEqual([4]);
    expect(await reconcile("k3-a", 12)).toEqual([C.OK, 0, 0]);

    // Replaying the same repair finds no drift left and applies nothing.
    expect(await reconcile("k3-a", 12, "repair", 2)).toEqual([C.OK, 0, 0]);
    expect(await stock("k3-a")).toEqual([8]);

    // Drift downwards is repaired the same way.
    expect(await reconcile("k3-a", 5, "repair", -7)).toEqual([C.OK, -7, 1]);
    expect(await stock("k3-a")).toEqual([1]);
    expect(await held("k3-a")).toEqual([4]);
    expect(await total("k3-a")).toEqual([5]);
  });

  test("repair applies nothing when the drift differs from ARGV[4], or in any mode but repair", async () => {
    await setStock({ "k4-a": 10 });

    for (const [mode, expected] of [
      ["repair", 2],
      ["repair", 4],
      ["repair", -3],
      ["repair", 0],
      ["repair", "abc"],
      ["repair", ""],
      ["check", 3],
      ["fix", 3],
      ["REPAIR", 3],
    ] as const) {
      expect(await reconcile("k4-a", 13, mode, expected), `${mode} ${expected}`).toEqual([C.OK, 3, 0]);
    }
    expect(await stock("k4-a")).toEqual([10]);

    // No drift: nothing to repair, whatever was expected.
    expect(await reconcile("k4-a", 10, "repair", 0)).toEqual([C.OK, 0, 0]);
    expect(await stock("k4-a")).toEqual([10]);
  });

  test("holds passed as sold by MySQL count out their live units of this product only", async () => {
    await setStock({ "k6-a": 10, "k6-b": 10 });
    await reserve("k6-1", [
      ["k6-a", 2],
      ["k6-b", 5],
    ]);
    await reserve("k6-2", [["k6-a", 3]]);
    await reserve("k6-3", [["k6-a", 1]]);
    await beginCommit("k6-1");
    await commit("k6-2");
    await release("k6-3", ["k6-a"]);
    // Available 10-2-3 = 5 (k6-3's unit came back), held 2: MySQL sold k6-1 and k6-2.
    const withSold = (mode: string, expected: number, ...orders: string[]) =>
      redis.omsReconcile(
        3 + orders.length,
        keys.stock("k6-a"),
        keys.held(),
        keys.stockChanges("k6-a"),
        ...orders.map((o) => keys.hold(o)),
        "k6-a",
        5,
        mode,
        expected,
      );
    // k6-1 is committing (counted out), k6-2 committed (its units already left held),
    // k6-3 released and k6-gone absent (nothing to count out).
    expect(await withSold("check", 0, "k6-1", "k6-2", "k6-3", "k6-gone")).toEqual([C.OK, 0, 0]);
    // Without k6-1 its units look like drift; told of it, a repair finds none to make.
    expect(await withSold("check", 0)).toEqual([C.OK, -2, 0]);
    expect(await withSold("repair", -2, "k6-1")).toEqual([C.OK, 0, 0]);
    expect(await stock("k6-a")).toEqual([5]);
    // The same hold's line of k6-b counts out for k6-b (MySQL: 10 - 5 sold), not k6-a's.
    expect(
      await redis.omsReconcile(
        4,
        keys.stock("k6-b"),
        keys.held(),
        keys.stockChanges("k6-b"),
        keys.hold("k6-1"),
        "k6-b",
        5,
        "check",
        0,
      ),
    ).toEqual([C.OK, 0, 0]);
  });

  test("an uncached level answers NOT_LOADED in both modes and nothing is created", async () => {
    expect(await reconcile("k5-uncached", 10)).toEqual([C.NOT_LOADED, 0, 0]);
    expect(await reconcile("k5-uncached", 10, "repair", 10)).toEqual([C.NOT_LOADED, 0, 0]);
    expect(await redis.exists(keys.stock("k5-uncached"))).toBe(0);
    expect(await redis.hexists(keys.held(), "k5-uncached")).toBe(0);

    // Held units without a cached level (the key was lost): still NOT_LOADED, nothing recreated.
    await setStock({ "k5-lost": 10 });
    await reserve("k5", [["k5-lost", 2]]);
    await redis.del(keys.stock("k5-lost"));
    expect(await reconcile("k5-lost", 10, "repair", 10)).toEqual([C.NOT_LOADED, 0, 0]);
    expect(await stock("k5-lost")).toEqual([null]);
    expect(await held("k5-lost")).toEqual([2]);
  });

  test.each<[string, string | number]>([
    ["inf", "inf"],
    ["-inf", "-inf"],
    ["nan", "nan"],
    ["abc", "abc"],
    ["blank", ""],
    ["fractional", 1.5],
    ["beyond 1e15", "1e16"],
  ])("a %s figure from MySQL answers INVALID_ARGUMENT and changes nothing", async (label, truth) => {
    const productId = `k6-${label}`;
    await setStock({ [productId]: 10 });
    expect(await reconcile(productId, truth)).toEqual([C.INVALID_ARGUMENT, 0, 0]);
    expect(await reconcile(productId, truth, "repair", 0)).toEqual([C.INVALID_ARGUMENT, 0, 0]);
    expect(await stock(productId)).toEqual([10]);
    // The figure is checked before the level is looked up.
    expect(await reconcile(`${productId}-uncached`, truth)).toEqual([C.INVALID_ARGUMENT, 0, 0]);
    expect(await redis.exists(keys.stock(`${productId}-uncached`))).toBe(0);
  });
});

describe("checkout-unlock-1.lua", () => {
  test("the owning order drops the lock", async () => {
    await redis.set(env.keys.checkoutLock("u1-client"), "u1-order");
    expect(await checkoutUnlock("u1-client", "u1-order")).toEqual([C.OK]);
    expect(await redis.exists(env.keys.checkoutLock("u1-client"))).toBe(0);
  });

  test("another order answers NOT_OWNER and the lock stays with its owner", async () => {
    await redis.set(env.keys.checkoutLock("u2-client"), "u2-newer", "PX", 60_000);
    expect(await checkoutUnlock("u2-client", "u2-older")).toEqual([C.NOT_OWNER]);
    expect(await redis.get(env.keys.checkoutLock("u2-client"))).toBe("u2-newer");
    expect(await redis.pttl(env.keys.checkoutLock("u2-client"))).toBeGreaterThan(0);
  });

  test("a lock already gone answers OK (replay) and nothing is created", async () => {
    expect(await checkoutUnlock("u3-client", "u3-order")).toEqual([C.OK]);
    expect(await checkoutUnlock("u3-client", "u3-order")).toEqual([C.OK]);
    expect(await redis.exists(env.keys.checkoutLock("u3-client"))).toBe(0);
  });
});

// Not a script any more: the cart copy, the lock and the levels live in different cluster slots.
describe("engine.cartShortfall", () => {
  /** The edited mark the API passes (an empty field name: no product id can be it). */
  const EDITED = "";
  const engine = () => new InventoryEngine(env.redis, env.keys, noTruth);
  const cartShortfall = async (clientId: string) => {
    const short = await engine().cartShortfall(env.keys.cartMirror(clientId), env.keys.checkoutLock(clientId), EDITED);
    return short ? [C.INSUFFICIENT_STOCK, short.productId, short.available, short.edited ? 1 : 0] : [C.OK];
  };

  test("answers the first line the cached level cannot cover, with the level (never below 0)", async () => {
    await setStock({ "cs1-a": 5, "cs1-b": 1, "cs1-c": -2 });
    await redis.hset(env.keys.cartMirror("cs1"), "cs1-a", 5, "cs1-b", 2);
    expect(await cartShortfall("cs1")).toEqual([C.INSUFFICIENT_STOCK, "cs1-b", 1, 0]);
    await redis.hset(env.keys.cartMirror("cs1n"), "cs1-c", 1);
    expect(await cartShortfall("cs1n")).toEqual([C.INSUFFICIENT_STOCK, "cs1-c", 0, 0]);
  });

  test("a cart every cached level covers, an uncached product, or no cart copy answers OK", async () => {
    await setStock({ "cs2-a": 3 });
    await redis.hset(env.keys.cartMirror("cs2"), "cs2-a", 3, "cs2-uncached", 1_000);
    expect(await cartShortfall("cs2")).toEqual([C.OK]);
    expect(await cartShortfall("cs2-nobody")).toEqual([C.OK]);
  });

  test("while the client's checkout lock is held, answers OK whatever the levels (the request joins that checkout)", async () => {
    await setStock({ "cs4-a": 0 });
    await redis.hset(env.keys.cartMirror("cs4"), "cs4-a", 1);
    await redis.set(env.keys.checkoutLock("cs4"), "cs4-order", "PX", 60_000);
    expect(await cartShortfall("cs4")).toEqual([C.OK]);
    await redis.del(env.keys.checkoutLock("cs4"));
    expect(await cartShortfall("cs4")).toEqual([C.INSUFFICIENT_STOCK, "cs4-a", 0, 0]);
  });

  test("the edited mark is no line, and a shortfall says whether the copy carries it", async () => {
    await setStock({ "cs5-a": 1 });
    await redis.hset(env.keys.cartMirror("cs5"), EDITED, 1, "cs5-a", 1);
    expect(await cartShortfall("cs5")).toEqual([C.OK]);
    await redis.hset(env.keys.cartMirror("cs5"), "cs5-a", 2);
    expect(await cartShortfall("cs5")).toEqual([C.INSUFFICIENT_STOCK, "cs5-a", 1, 1]);
    // Another client's copy without the mark: its shortfall is not marked edited.
    await redis.hset(env.keys.cartMirror("cs5u"), "cs5-a", 2);
    expect(await cartShortfall("cs5u")).toEqual([C.INSUFFICIENT_STOCK, "cs5-a", 1, 0]);
  });

  test("reads and writes nothing else: levels and the cart copy are unchanged, and no key is created", async () => {
    await setStock({ "cs3-a": 0 });
    await redis.hset(env.keys.cartMirror("cs3"), "cs3-a", 1, "cs3-uncached", 1);
    expect(await cartShortfall("cs3")).toEqual([C.INSUFFICIENT_STOCK, "cs3-a", 0, 0]);
    expect(await stock("cs3-a")).toEqual([0]);
    expect(await redis.exists(keys.stock("cs3-uncached"))).toBe(0);
    expect(await redis.hgetall(env.keys.cartMirror("cs3"))).toEqual({ "cs3-a": "1", "cs3-uncached": "1" });
  });
});
