/**
 * reserve.lua called directly (see scripts-fixture.ts), asserting its raw integer replies
 * and the Redis state it leaves: a cart is held whole or not at all, replays take no
 * stock twice, and invalid arguments change nothing.
 */
import { describe, expect, test } from "vitest";
import { InventoryCode as C } from "@oms/inventory";
import { parseReply } from "../src/scripts";
import { beginCommit, checkoutUnlock, commit, type Line, reconcile, release, reserve, restock } from "./scripts-calls";
import { keys, NOW, redis, setUpScripts, TTL } from "./scripts-fixture";
import { expiryScore, held, holdExists, holdHash, setStock, stock, total } from "./scripts-state";

setUpScripts();

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
