/**
 * adjust-level-1.lua and reconcile.lua called directly (see scripts-fixture.ts): a
 * restock moves only a cached level, and reconcile measures the drift from MySQL's figure
 * and repairs the available level only when told the same drift.
 */
import { describe, expect, test } from "vitest";
import { InventoryCode as C } from "@oms/inventory";
import { beginCommit, commit, reconcile, release, reserve, restock } from "./scripts-calls";
import { keys, redis, setUpScripts } from "./scripts-fixture";
import { held, setStock, stock, total } from "./scripts-state";

setUpScripts();

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
