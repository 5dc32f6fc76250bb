/**
 * InventoryEngine.reconcile: drift between MySQL and the cache is repaired only when two
 * looks agree on it, and live holds, committed orders, a level just loaded or one that
 * disappears are never taken for drift.
 */
import { describe, expect, test } from "vitest";
import { InventoryCode } from "@oms/inventory";
import { insertProducts } from "../../../test/support/env";
import { addPending, countingTruth, engineFor, env, setUpEngine, TTL } from "./engine-fixture";
import { cached, heldOf } from "./engine-levels";

setUpEngine();

describe("reconcile", () => {
  /** A truth source that runs `between` (once) just before its second look at MySQL. */
  const truthWithSecondLook = (between: () => Promise<unknown>) =>
    countingTruth(async (look) => {
      if (look === 2) await between();
    });

  test("a cached level drifted by hand (INCRBY) is repaired back, in either direction, after the settle time", async () => {
    await insertProducts(env.db, [{ id: "rc1-a", quantity: 10 }]);
    const engine = engineFor("rc1");
    expect(await engine.reserve("rc1", [{ productId: "rc1-a", quantity: 3 }], TTL)).toEqual({
      ok: true,
      replayed: false,
    });
    expect(await cached("rc1-a")).toBe(7);

    await env.redis.incrby(env.keys.stock("rc1-a"), 5);
    const started = Date.now();
    expect(await engine.reconcile("rc1-a", 100)).toEqual({ productId: "rc1-a", drift: -5, repaired: true });
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    expect(await cached("rc1-a")).toBe(7);
    expect(await heldOf("rc1", "rc1-a")).toBe(3);

    await env.redis.incrby(env.keys.stock("rc1-a"), -4);
    expect(await engine.reconcile("rc1-a", 0)).toEqual({ productId: "rc1-a", drift: 4, repaired: true });
    expect(await cached("rc1-a")).toBe(7);

    expect(await engine.reconcile("rc1-a", 0)).toEqual({ productId: "rc1-a", drift: 0, repaired: false });
    // The hold is intact: releasing it brings the level back to MySQL's.
    expect(await engine.release("rc1")).toEqual({ ok: true, replayed: false });
    expect(await cached("rc1-a")).toBe(10);
  });

  test("no drift answers drift 0, repaired false, after a single look; live holds and committed orders are no drift", async () => {
    await insertProducts(env.db, [{ id: "rc2-a", quantity: 20 }]);
    const { truth, calls } = countingTruth();
    const engine = engineFor("rc2", truth);

    await engine.load(["rc2-a"]);
    expect(await engine.reconcile("rc2-a", 0)).toEqual({ productId: "rc2-a", drift: 0, repaired: false });

    // A live hold: the units are in the held hash, not in the level.
    await engine.reserve("rc2-live", [{ productId: "rc2-a", quantity: 4 }], TTL);
    // A committed order not yet flushed: MySQL counts it as pending, Redis no longer holds it.
    await engine.reserve("rc2-sold", [{ productId: "rc2-a", quantity: 5 }], TTL);
    await engine.beginCommit("rc2-sold");
    await addPending("rc2-sold", "rc2-a", 5);
    await engine.commit("rc2-sold");
    // And once flushed (quantity lowered, pending row gone), still no drift.
    calls.length = 0;
    expect(await engine.reconcile("rc2-a", 0)).toEqual({ productId: "rc2-a", drift: 0, repaired: false });
    await env.db.transaction(async (trx) => {
      await trx("product_details").where({ product_id: "rc2-a" }).decrement("quantity", 5);
      await trx("reserve_purchase").where({ reserve_id: "rc2-sold" }).delete();
    });
    expect(await engine.reconcile("rc2-a", 0)).toEqual({ productId: "rc2-a", drift: 0, repaired: false });
    expect(calls).toEqual([["rc2-a"], ["rc2-a"]]);
    expect(await cached("rc2-a")).toBe(11);
  });

  test("a product whose level is not cached answers drift null and caches nothing; so does one MySQL does not know", async () => {
    await insertProducts(env.db, [{ id: "rc3-a", quantity: 5 }]);
    const engine = engineFor("rc3");

    expect(await engine.reconcile("rc3-a", 0)).toEqual({ productId: "rc3-a", drift: null, repaired: false });
    expect(await cached("rc3-a")).toBeNull();

    await env.redis.set(env.keys.stock("rc3-ghost"), 4);
    expect(await engine.reconcile("rc3-ghost", 0)).toEqual({ productId: "rc3-ghost", drift: null, repaired: false });
    expect(await cached("rc3-ghost")).toBe(4);
  });

  test("drift that is gone by the second look (a change in flight landed) is not repaired", async () => {
    await insertProducts(env.db, [{ id: "rc4-a", quantity: 10 }]);
    // The change lands in Redis between the two looks.
    const { truth, calls } = truthWithSecondLook(() => env.redis.incrby(env.keys.stock("rc4-a"), 2));
    const engine = engineFor("rc4", truth);
    await env.redis.set(env.keys.stock("rc4-a"), 8);

    expect(await engine.reconcile("rc4-a", 0)).toEqual({ productId: "rc4-a", drift: 0, repaired: false });
    expect(calls).toHaveLength(2);
    expect(await cached("rc4-a")).toBe(10);
  });

  test("drift that changed between the looks is reported as the second look saw it, and not repaired", async () => {
    await insertProducts(env.db, [{ id: "rc5-a", quantity: 10 }]);
    const { truth } = truthWithSecondLook(() => env.redis.incrby(env.keys.stock("rc5-a"), -1));
    const engine = engineFor("rc5", truth);
    await env.redis.set(env.keys.stock("rc5-a"), 8);

    expect(await engine.reconcile("rc5-a", 0)).toEqual({ productId: "rc5-a", drift: 3, repaired: false });
    expect(await cached("rc5-a")).toBe(7);
    // The next run sees the same drift twice and repairs it.
    expect(await engine.reconcile("rc5-a", 0)).toEqual({ productId: "rc5-a", drift: 3, repaired: true });
    expect(await cached("rc5-a")).toBe(10);
  });

  test("a level that disappears between the looks answers drift null and is not recreated", async () => {
    await insertProducts(env.db, [{ id: "rc6-a", quantity: 10 }]);
    const { truth } = truthWithSecondLook(() => env.redis.del(env.keys.stock("rc6-a")));
    const engine = engineFor("rc6", truth);
    await env.redis.set(env.keys.stock("rc6-a"), 3);

    expect(await engine.reconcile("rc6-a", 0)).toEqual({ productId: "rc6-a", drift: null, repaired: false });
    expect(await cached("rc6-a")).toBeNull();
  });

  test("a figure the script rejects throws InventoryScriptError(reconcile, INVALID_ARGUMENT)", async () => {
    const engine = engineFor("rc7", async (ids) => new Map(ids.map((id) => [id, 2.5])));
    await env.redis.set(env.keys.stock("rc7-a"), 3);

    await expect(engine.reconcile("rc7-a", 0)).rejects.toMatchObject({
      name: "InventoryScriptError",
      script: "reconcile",
      code: InventoryCode.INVALID_ARGUMENT,
    });
    expect(await cached("rc7-a")).toBe(3);
  });

  // BUG (engine.load vs reconcile.lua): load() caches a negative MySQL figure as 0, and
  // reconcile then reports that clamp as drift and "repairs" the level below zero
  // (here: drift -3, repaired true, cached level -3, logged and counted as a repair).
  test("a level just loaded from MySQL is never reported as drift, even when MySQL's figure is below zero", async () => {
    await insertProducts(env.db, [{ id: "rc8-a", quantity: 2 }]);
    await addPending("rc8-order", "rc8-a", 5);
    const engine = engineFor("rc8");
    await engine.load(["rc8-a"]);

    expect(await engine.reconcile("rc8-a", 0)).toEqual({ productId: "rc8-a", drift: 0, repaired: false });
  });
});
