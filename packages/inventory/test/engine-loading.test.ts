/**
 * InventoryEngine loading levels from MySQL (the truth source): a cold cache loads
 * quantity minus pending reservations once, never over a level a reservation moved, and
 * with requireEpoch loads nothing into the cache while the epoch marker is missing.
 */
import { describe, expect, test } from "vitest";
import { CacheNotReadyError, mysqlTruth, type TruthSource } from "@oms/inventory";
import { insertProducts } from "../../../test/support/env";
import { deferred, heldUnits, noTruth } from "./support";
import { addPending, countingTruth, engineFor, env, epochKey, heldKey, setUpEngine, TTL } from "./engine-fixture";
import { cached, heldOf } from "./engine-levels";

setUpEngine();

describe("loading levels from MySQL", () => {
  test("reserve on a cold cache loads the level from MySQL, holds it, and release gives it back", async () => {
    await insertProducts(env.db, [{ id: "e1-a", quantity: 5 }]);
    const engine = engineFor("e1");

    expect(await cached("e1-a")).toBeNull();
    expect(await engine.reserve("e1", [{ productId: "e1-a", quantity: 3 }], TTL)).toEqual({
      ok: true,
      replayed: false,
    });
    expect(await engine.available(["e1-a"])).toEqual(new Map([["e1-a", 2]]));
    expect(await heldOf("e1", "e1-a")).toBe(3);
    expect(await engine.release("e1")).toEqual({ ok: true, replayed: false });
    expect(await engine.available(["e1-a"])).toEqual(new Map([["e1-a", 5]]));
    expect(await heldOf("e1", "e1-a")).toBeNull();
  });

  test("available() loads missing levels (quantity minus pending reserve_purchase) once and leaves unknown products out", async () => {
    await insertProducts(env.db, [
      { id: "e2-a", quantity: 10 },
      { id: "e2-b", quantity: 4 },
    ]);
    await addPending("e2-order", "e2-a", 3);
    const { truth, calls } = countingTruth();
    const engine = engineFor("e2", truth);

    expect(await engine.available(["e2-a", "e2-b", "e2-unknown", "e2-a"])).toEqual(
      new Map([
        ["e2-a", 7],
        ["e2-b", 4],
      ]),
    );
    expect(calls).toEqual([["e2-a", "e2-b", "e2-unknown"]]);
    expect(await cached("e2-a")).toBe(7);
    expect(await cached("e2-unknown")).toBeNull();

    // Cached now: served from Redis, even though MySQL has changed meanwhile.
    await env.db("product_details").where({ product_id: "e2-b" }).update({ quantity: 100 });
    expect(await engine.available(["e2-a", "e2-b"])).toEqual(
      new Map([
        ["e2-a", 7],
        ["e2-b", 4],
      ]),
    );
    expect(calls).toHaveLength(1);
    expect(await engine.available([])).toEqual(new Map());
  });

  test("a level MySQL puts below zero (more pending than quantity) is cached as MySQL says and reported as 0", async () => {
    await insertProducts(env.db, [{ id: "e3-a", quantity: 2 }]);
    await addPending("e3-order", "e3-a", 5);
    const engine = engineFor("e3");

    expect(await engine.available(["e3-a"])).toEqual(new Map([["e3-a", 0]]));
    // Cached unclamped, so available + held keeps equal to MySQL's figure and the reconciler sees no drift.
    expect(await cached("e3-a")).toBe(-3);
    expect(await engine.reserve("e3", [{ productId: "e3-a", quantity: 1 }], TTL)).toEqual({
      ok: false,
      reason: "insufficient_stock",
      productId: "e3-a",
      available: 0,
    });
  });

  test("load() answers the ids MySQL does not know, caches the known ones, and asks for duplicates once", async () => {
    await insertProducts(env.db, [{ id: "e4-a", quantity: 9 }]);
    const { truth, calls } = countingTruth();
    const engine = engineFor("e4", truth);

    expect(await engine.load(["e4-a", "e4-x", "e4-a", "e4-y"])).toEqual(["e4-x", "e4-y"]);
    expect(calls).toEqual([["e4-a", "e4-x", "e4-y"]]);
    expect(await cached("e4-a")).toBe(9);
    expect(await cached("e4-x")).toBeNull();
    expect(await engine.load([])).toEqual([]);
    expect(calls).toHaveLength(1);
  });

  test("a load that read MySQL before a reservation never overwrites the level the reservation moved (SET NX)", async () => {
    await insertProducts(env.db, [{ id: "e5-a", quantity: 10 }]);
    const mysql = mysqlTruth(env.db);
    const read = { a: deferred(), b: deferred() };
    const write = { a: deferred(), b: deferred() };
    // Each loader reads MySQL right away, then waits for the test to let it write.
    const gatedTruth =
      (name: "a" | "b"): TruthSource =>
      async (ids) => {
        const snapshot = await mysql(ids);
        read[name].resolve();
        await write[name].promise;
        return snapshot;
      };
    const loaderA = engineFor("e5", gatedTruth("a"));
    const loaderB = engineFor("e5", gatedTruth("b"));
    const shopper = engineFor("e5", noTruth);

    const loadA = loaderA.load(["e5-a"]);
    const loadB = loaderB.load(["e5-a"]);
    await Promise.all([read.a.promise, read.b.promise]);

    write.a.resolve();
    expect(await loadA).toEqual([]);
    expect(await cached("e5-a")).toBe(10);

    expect(await shopper.reserve("e5", [{ productId: "e5-a", quantity: 3 }], TTL)).toEqual({
      ok: true,
      replayed: false,
    });
    expect(await cached("e5-a")).toBe(7);

    // The second load still carries MySQL's 10; writing it would resurrect the held 3.
    write.b.resolve();
    expect(await loadB).toEqual([]);
    expect(await cached("e5-a")).toBe(7);
    expect(await shopper.available(["e5-a"])).toEqual(new Map([["e5-a", 7]]));
  });
});

describe("requireEpoch", () => {
  test("load() throws CacheNotReadyError while the epoch marker is missing, without consulting MySQL, and loads once it is set", async () => {
    await insertProducts(env.db, [{ id: "ep1-a", quantity: 6 }]);
    const { truth, calls } = countingTruth();
    const engine = engineFor("ep1", truth, { requireEpoch: true, ownEpoch: true });

    const error = await engine.load(["ep1-a"]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CacheNotReadyError);
    expect(error).toMatchObject({ name: "CacheNotReadyError" });
    expect(calls).toEqual([]);
    expect(await cached("ep1-a")).toBeNull();
    // Nothing to load needs no marker.
    expect(await engine.load([])).toEqual([]);

    await env.redis.set(epochKey("ep1"), "recovered");
    expect(await engine.load(["ep1-a", "ep1-ghost"])).toEqual(["ep1-ghost"]);
    expect(await cached("ep1-a")).toBe(6);
  });

  test("without requireEpoch (the default) a missing marker does not stop a load", async () => {
    await insertProducts(env.db, [{ id: "ep2-a", quantity: 6 }]);
    const engine = engineFor("ep2", mysqlTruth(env.db), { ownEpoch: true });

    expect(await env.redis.exists(epochKey("ep2"))).toBe(0);
    expect(await engine.load(["ep2-a"])).toEqual([]);
    expect(await cached("ep2-a")).toBe(6);
  });

  test("available() answers MySQL's figure without caching it while the marker is missing, and caches once it is set", async () => {
    await insertProducts(env.db, [
      { id: "ep3-a", quantity: 10 },
      { id: "ep3-b", quantity: 4 },
    ]);
    await addPending("ep3-order", "ep3-a", 3);
    const { truth, calls } = countingTruth();
    const engine = engineFor("ep3", truth, { requireEpoch: true, ownEpoch: true });

    expect(await engine.available(["ep3-a", "ep3-b"])).toEqual(
      new Map([
        ["ep3-a", 7],
        ["ep3-b", 4],
      ]),
    );
    expect(await cached("ep3-a")).toBeNull();
    expect(await cached("ep3-b")).toBeNull();

    // Not cached, so every answer is MySQL's current figure.
    await env.db("product_details").where({ product_id: "ep3-b" }).update({ quantity: 9 });
    expect(await engine.available(["ep3-b"])).toEqual(new Map([["ep3-b", 9]]));
    expect(await engine.available(["ep3-ghost"])).toEqual(new Map());
    expect(await cached("ep3-b")).toBeNull();
    expect(calls.length).toBeGreaterThanOrEqual(3);

    await env.redis.set(epochKey("ep3"), "recovered");
    expect(await engine.available(["ep3-a", "ep3-b"])).toEqual(
      new Map([
        ["ep3-a", 7],
        ["ep3-b", 9],
      ]),
    );
    expect(await cached("ep3-a")).toBe(7);
    expect(await cached("ep3-b")).toBe(9);
  });

  test("while the marker is missing, levels already cached are still served from Redis beside MySQL's figure for the rest", async () => {
    await insertProducts(env.db, [
      { id: "ep4-cached", quantity: 10 },
      { id: "ep4-cold", quantity: 5 },
    ]);
    const engine = engineFor("ep4", mysqlTruth(env.db), { requireEpoch: true, ownEpoch: true });
    await env.redis.set(env.keys.stock("ep4-cached"), 6);

    expect(await engine.available(["ep4-cached", "ep4-cold"])).toEqual(
      new Map([
        ["ep4-cached", 6],
        ["ep4-cold", 5],
      ]),
    );
    expect(await cached("ep4-cold")).toBeNull();
  });

  test("reserve on a cold cache throws CacheNotReadyError while the marker is missing and holds nothing; it succeeds once set", async () => {
    await insertProducts(env.db, [{ id: "ep5-a", quantity: 5 }]);
    const engine = engineFor("ep5", mysqlTruth(env.db), { requireEpoch: true, ownEpoch: true });
    const lines = [{ productId: "ep5-a", quantity: 2 }];

    await expect(engine.reserve("ep5", lines, TTL)).rejects.toBeInstanceOf(CacheNotReadyError);
    expect(await engine.hold("ep5")).toBeNull();
    expect(await cached("ep5-a")).toBeNull();
    expect(await heldUnits(env.redis, heldKey("ep5"))).toEqual(new Map());

    await env.redis.set(epochKey("ep5"), "recovered");
    expect(await engine.reserve("ep5", lines, TTL)).toEqual({ ok: true, replayed: false });
    expect(await cached("ep5-a")).toBe(3);
    expect(await heldOf("ep5", "ep5-a")).toBe(2);
  });

  // BUG (engine.available, CacheNotReadyError branch): when any asked id is unknown to
  // MySQL, the figures just read from MySQL are thrown away by a second MGET of keys
  // that were never written, so known products vanish from the answer (here: empty map).
  test("while the marker is missing, an unknown id in the same call does not hide the known products", async () => {
    await insertProducts(env.db, [{ id: "ep6-a", quantity: 8 }]);
    const engine = engineFor("ep6", mysqlTruth(env.db), { requireEpoch: true, ownEpoch: true });

    expect(await engine.available(["ep6-a", "ep6-ghost"])).toEqual(new Map([["ep6-a", 8]]));
    expect(await cached("ep6-a")).toBeNull();
  });

  // BUG (engine.available, CacheNotReadyError branch): MySQL's figure is answered raw,
  // while load() caches it clamped at 0, so a product with more pending than quantity
  // reads -3 during a rebuild and 0 after it.
  test("a product MySQL puts below zero reads the same with and without the marker", async () => {
    await insertProducts(env.db, [{ id: "ep7-a", quantity: 2 }]);
    await addPending("ep7-order", "ep7-a", 5);
    const engine = engineFor("ep7", mysqlTruth(env.db), { requireEpoch: true, ownEpoch: true });

    const duringRebuild = (await engine.available(["ep7-a"])).get("ep7-a");
    await env.redis.set(epochKey("ep7"), "recovered");
    const afterRebuild = (await engine.available(["ep7-a"])).get("ep7-a");

    expect(duringRebuild).toBe(afterRebuild);
  });
});
