/**
 * InventoryEngine through its public methods, with MySQL as the truth source.
 */
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import {
  InventoryCode,
  InventoryEngine,
  InventoryScriptError,
  mysqlTruth,
  releaseCheckoutLock,
  type InventoryKeys,
  type TruthSource,
} from "@oms/inventory";
import { createTestEnv, insertProducts, type TestEnv } from "../../../test/support/env";
import { deferred, noTruth } from "./support";

const TTL = 60_000;
const NOW = 1_700_000_000_000;

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv();
});
afterAll(async () => env?.close());

/**
 * An engine whose expiry set is its own (so live-hold counts and sweeps only see this
 * test's holds); stock and hold keys are the env's, ids are unique per test.
 */
function engineFor(tag: string, truth: TruthSource = mysqlTruth(env.db), retentionMs?: number): InventoryEngine {
  const keys: InventoryKeys = {
    stock: env.keys.stock,
    hold: env.keys.hold,
    holdExpiries: `${env.keys.holdExpiries}:${tag}`,
  };
  return new InventoryEngine(env.redis, keys, truth, retentionMs === undefined ? {} : { retentionMs });
}

/** A truth source that counts how often, and for which ids, it was consulted. */
function countingTruth(): { truth: TruthSource; calls: string[][] } {
  const calls: string[][] = [];
  const mysql = mysqlTruth(env.db);
  return {
    calls,
    truth: async (ids) => {
      calls.push([...ids]);
      return mysql(ids);
    },
  };
}

const cached = async (productId: string) => {
  const v = await env.redis.get(env.keys.stock(productId));
  return v === null ? null : Number(v);
};

async function addPending(reserveId: string, productId: string, quantity: number): Promise<void> {
  await env.db("reserve_purchase").insert({ reserve_id: reserveId, product_id: productId, quantity });
}

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
    expect(await engine.release("e1")).toEqual({ ok: true, replayed: false });
    expect(await engine.available(["e1-a"])).toEqual(new Map([["e1-a", 5]]));
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

  test("a level MySQL puts below zero (more pending than quantity) is cached as 0", async () => {
    await insertProducts(env.db, [{ id: "e3-a", quantity: 2 }]);
    await addPending("e3-order", "e3-a", 5);
    const engine = engineFor("e3");

    expect(await engine.available(["e3-a"])).toEqual(new Map([["e3-a", 0]]));
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

describe("reserve", () => {
  test("an unknown product answers unknown_product, holds nothing and caches no level for it", async () => {
    await insertProducts(env.db, [{ id: "e6-a", quantity: 5 }]);
    const engine = engineFor("e6");

    expect(
      await engine.reserve(
        "e6",
        [
          { productId: "e6-a", quantity: 1 },
          { productId: "e6-ghost", quantity: 1 },
        ],
        TTL,
      ),
    ).toEqual({ ok: false, reason: "unknown_product", productId: "e6-ghost" });

    expect(await engine.hold("e6")).toBeNull();
    expect(await cached("e6-ghost")).toBeNull();
    expect(await engine.available(["e6-a"])).toEqual(new Map([["e6-a", 5]]));
    expect(await engine.liveHoldCount()).toBe(0);
  });

  test("insufficient stock names the short product and its available level, and holds nothing", async () => {
    await insertProducts(env.db, [
      { id: "e7-a", quantity: 5 },
      { id: "e7-b", quantity: 2 },
    ]);
    const engine = engineFor("e7");

    expect(
      await engine.reserve(
        "e7",
        [
          { productId: "e7-a", quantity: 5 },
          { productId: "e7-b", quantity: 3 },
        ],
        TTL,
      ),
    ).toEqual({ ok: false, reason: "insufficient_stock", productId: "e7-b", available: 2 });

    expect(await engine.hold("e7")).toBeNull();
    expect(await engine.available(["e7-a", "e7-b"])).toEqual(
      new Map([
        ["e7-a", 5],
        ["e7-b", 2],
      ]),
    );
  });

  test("a replayed reserve answers replayed:true without taking more; once released it answers hold_released", async () => {
    await insertProducts(env.db, [{ id: "e8-a", quantity: 5 }]);
    const engine = engineFor("e8");
    const lines = [{ productId: "e8-a", quantity: 2 }];

    expect(await engine.reserve("e8", lines, TTL)).toEqual({ ok: true, replayed: false });
    expect(await engine.reserve("e8", lines, TTL)).toEqual({ ok: true, replayed: true });
    expect(await engine.available(["e8-a"])).toEqual(new Map([["e8-a", 3]]));

    expect(await engine.release("e8")).toEqual({ ok: true, replayed: false });
    expect(await engine.reserve("e8", lines, TTL)).toEqual({ ok: false, reason: "hold_released" });
    expect(await engine.available(["e8-a"])).toEqual(new Map([["e8-a", 5]]));
  });

  test("an empty cart is refused, and an invalid quantity throws InventoryScriptError(INVALID_ARGUMENT)", async () => {
    await insertProducts(env.db, [{ id: "e9-a", quantity: 5 }]);
    const engine = engineFor("e9");

    await expect(engine.reserve("e9", [], TTL)).rejects.toThrow("at least one line");

    const error = await engine.reserve("e9", [{ productId: "e9-a", quantity: 0 }], TTL).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InventoryScriptError);
    expect(error).toMatchObject({ script: "reserve", code: InventoryCode.INVALID_ARGUMENT });
    expect((error as Error).message).toContain("INVALID_ARGUMENT");
    expect(await engine.hold("e9")).toBeNull();
  });

  test("a cart listing the same product twice is refused rather than driving the level below zero", async () => {
    await insertProducts(env.db, [{ id: "e10-a", quantity: 5 }]);
    const engine = engineFor("e10");

    const result = await engine.reserve(
      "e10",
      [
        { productId: "e10-a", quantity: 3 },
        { productId: "e10-a", quantity: 3 },
      ],
      TTL,
    );

    const level = (await engine.available(["e10-a"])).get("e10-a");
    expect(level).toBeGreaterThanOrEqual(0);
    expect(result.ok).toBe(false);
    expect(level).toBe(5);
  });
});

describe("holds", () => {
  test("hold() shows lines, state and expiry through held → committing → committed; null for an unknown id", async () => {
    await insertProducts(env.db, [
      { id: "e11-a", quantity: 5 },
      { id: "e11-b", quantity: 5 },
    ]);
    const engine = engineFor("e11");
    const lines = [
      { productId: "e11-b", quantity: 2 },
      { productId: "e11-a", quantity: 1 },
    ];

    expect(await engine.hold("e11")).toBeNull();
    expect(await engine.reserve("e11", lines, TTL, NOW)).toEqual({ ok: true, replayed: false });
    expect(await engine.hold("e11")).toEqual({ orderId: "e11", state: "held", expiresAt: NOW + TTL, lines });

    expect(await engine.beginCommit("e11")).toEqual({ ok: true });
    expect(await engine.hold("e11")).toMatchObject({ state: "committing", lines });

    expect(await engine.commit("e11")).toEqual({ ok: true });
    expect(await engine.commit("e11")).toEqual({ ok: true });
    expect(await engine.hold("e11")).toMatchObject({ state: "committed", expiresAt: NOW + TTL, lines });

    expect(await engine.available(["e11-a", "e11-b"])).toEqual(
      new Map([
        ["e11-a", 4],
        ["e11-b", 3],
      ]),
    );
  });

  test("product ids with ':' and '{' survive the round trip through hold()", async () => {
    const productId = "e12:{weird}:id";
    await insertProducts(env.db, [{ id: productId, quantity: 3 }]);
    const engine = engineFor("e12");

    expect(await engine.reserve("e12", [{ productId, quantity: 2 }], TTL, NOW)).toEqual({ ok: true, replayed: false });
    expect((await engine.hold("e12"))?.lines).toEqual([{ productId, quantity: 2 }]);
    expect(await engine.release("e12")).toEqual({ ok: true, replayed: false });
    expect(await engine.available([productId])).toEqual(new Map([[productId, 3]]));
  });

  test("release() answers hold_not_found, hold_committed, not_expired and replayed as the hold's state dictates", async () => {
    await insertProducts(env.db, [{ id: "e13-a", quantity: 10 }]);
    const engine = engineFor("e13");
    const one = [{ productId: "e13-a", quantity: 1 }];

    expect(await engine.release("e13-unknown")).toEqual({ ok: false, reason: "hold_not_found" });

    await engine.reserve("e13-committed", one, TTL, NOW);
    await engine.commit("e13-committed");
    expect(await engine.release("e13-committed")).toEqual({ ok: false, reason: "hold_committed" });

    await engine.reserve("e13-paying", one, TTL, NOW);
    await engine.beginCommit("e13-paying");
    expect(await engine.release("e13-paying", "expired", NOW + 2 * TTL)).toEqual({ ok: false, reason: "not_expired" });

    await engine.reserve("e13-live", one, TTL, NOW);
    expect(await engine.release("e13-live", "expired", NOW + TTL - 1)).toEqual({ ok: false, reason: "not_expired" });
    expect(await engine.release("e13-live", "expired", NOW + TTL)).toEqual({ ok: true, replayed: false });
    expect(await engine.release("e13-live")).toEqual({ ok: true, replayed: true });

    // committed (1) and paying (1) still hold their stock; live came back.
    expect(await engine.available(["e13-a"])).toEqual(new Map([["e13-a", 8]]));
  });

  test("beginCommit() and commit() answer hold_not_found for unknown ids and hold_released for released ones", async () => {
    await insertProducts(env.db, [{ id: "e14-a", quantity: 10 }]);
    const engine = engineFor("e14");

    expect(await engine.beginCommit("e14-unknown")).toEqual({ ok: false, reason: "hold_not_found" });
    expect(await engine.commit("e14-unknown")).toEqual({ ok: false, reason: "hold_not_found" });

    await engine.reserve("e14", [{ productId: "e14-a", quantity: 4 }], TTL);
    await engine.release("e14");
    expect(await engine.beginCommit("e14")).toEqual({ ok: false, reason: "hold_released" });
    expect(await engine.commit("e14")).toEqual({ ok: false, reason: "hold_released" });
    expect(await engine.available(["e14-a"])).toEqual(new Map([["e14-a", 10]]));
  });

  test("an ended hold record lives for retentionMs, after which the id is forgotten", async () => {
    await insertProducts(env.db, [{ id: "e15-a", quantity: 10 }]);
    const engine = engineFor("e15", mysqlTruth(env.db), 200);

    await engine.reserve("e15", [{ productId: "e15-a", quantity: 1 }], TTL);
    await engine.commit("e15");
    expect((await engine.hold("e15"))?.state).toBe("committed");
    await vi.waitFor(async () => expect(await engine.hold("e15")).toBeNull(), { timeout: 3_000, interval: 50 });
  });
});

describe("stock changes, live holds and expiry sweeps", () => {
  test("applyStockChange adjusts a cached level and answers null for an uncached one without caching it", async () => {
    await insertProducts(env.db, [
      { id: "e16-a", quantity: 5 },
      { id: "e16-b", quantity: 5 },
    ]);
    const engine = engineFor("e16");
    await engine.load(["e16-a"]);

    expect(await engine.applyStockChange("e16-a", 3)).toBe(8);
    expect(await engine.applyStockChange("e16-a", -6)).toBe(2);
    expect(await engine.available(["e16-a"])).toEqual(new Map([["e16-a", 2]]));

    // Uncached: MySQL already has the change; the next load reads it from there.
    await env.db("product_details").where({ product_id: "e16-b" }).update({ quantity: 12 });
    expect(await engine.applyStockChange("e16-b", 7)).toBeNull();
    expect(await cached("e16-b")).toBeNull();
    expect(await engine.available(["e16-b"])).toEqual(new Map([["e16-b", 12]]));
  });

  test("applyStockChange with a fractional change throws InventoryScriptError(INVALID_ARGUMENT)", async () => {
    await insertProducts(env.db, [{ id: "e17-a", quantity: 5 }]);
    const engine = engineFor("e17");
    await engine.load(["e17-a"]);

    await expect(engine.applyStockChange("e17-a", 0.5)).rejects.toMatchObject({
      name: "InventoryScriptError",
      script: "restock",
      code: InventoryCode.INVALID_ARGUMENT,
    });
    expect(await cached("e17-a")).toBe(5);
  });

  test("liveHoldCount counts holds still held; begin-commit, commit and release each take one away", async () => {
    await insertProducts(env.db, [{ id: "e18-a", quantity: 100 }]);
    const engine = engineFor("e18");
    const one = [{ productId: "e18-a", quantity: 1 }];

    expect(await engine.liveHoldCount()).toBe(0);
    for (const id of ["e18-1", "e18-2", "e18-3", "e18-4"]) await engine.reserve(id, one, TTL);
    await engine.reserve("e18-1", one, TTL); // replay: no new live hold
    expect(await engine.liveHoldCount()).toBe(4);

    await engine.beginCommit("e18-1");
    expect(await engine.liveHoldCount()).toBe(3);
    await engine.commit("e18-2");
    expect(await engine.liveHoldCount()).toBe(2);
    await engine.release("e18-3");
    expect(await engine.liveHoldCount()).toBe(1);
    await engine.commit("e18-1");
    expect(await engine.liveHoldCount()).toBe(1);
  });

  test("sweepExpired(now) releases exactly the expired held holds, returns their count, and clears stale entries", async () => {
    await insertProducts(env.db, [{ id: "e19-a", quantity: 100 }]);
    const engine = engineFor("e19");
    const qty = (quantity: number) => [{ productId: "e19-a", quantity }];

    await engine.reserve("e19-old-1", qty(1), TTL, NOW);
    await engine.reserve("e19-old-2", qty(2), TTL, NOW + 1);
    await engine.reserve("e19-old-3", qty(4), TTL, NOW + 2);
    await engine.reserve("e19-paying", qty(8), TTL, NOW);
    await engine.reserve("e19-fresh", qty(16), TTL, NOW + TTL);
    await engine.beginCommit("e19-paying");
    // A hold whose record vanished but whose expiry entry stayed behind.
    await engine.reserve("e19-vanished", qty(32), TTL, NOW);
    await env.redis.del(env.keys.hold("e19-vanished"));
    expect(await engine.available(["e19-a"])).toEqual(new Map([["e19-a", 37]]));
    expect(await engine.liveHoldCount()).toBe(5);

    expect(await engine.expiredHoldIds(NOW + TTL + 5)).toEqual(["e19-old-1", "e19-vanished", "e19-old-2", "e19-old-3"]);
    // The limit bounds one sweep; the rest waits for the next.
    expect(await engine.sweepExpired(NOW + TTL + 5, 2)).toBe(1);
    expect(await engine.sweepExpired(NOW + TTL + 5)).toBe(2);
    expect(await engine.sweepExpired(NOW + TTL + 5)).toBe(0);

    // 1 + 2 + 4 came back; the vanished hold's 32 cannot be returned (no record of it).
    expect(await engine.available(["e19-a"])).toEqual(new Map([["e19-a", 44]]));
    expect(await engine.liveHoldCount()).toBe(1);
    expect(await engine.expiredHoldIds(NOW + 10 * TTL)).toEqual(["e19-fresh"]);
    expect((await engine.hold("e19-paying"))?.state).toBe("committing");
    expect((await engine.hold("e19-old-2"))?.state).toBe("released");
  });
});

describe("releaseCheckoutLock", () => {
  test("drops the lock for its owner (true), keeps it for anyone else (false), and treats a missing lock as dropped", async () => {
    const lock = env.keys.checkoutLock("e20-client");
    await env.redis.set(lock, "e20-owner");

    expect(await releaseCheckoutLock(env.redis, lock, "e20-intruder")).toBe(false);
    expect(await env.redis.get(lock)).toBe("e20-owner");

    expect(await releaseCheckoutLock(env.redis, lock, "e20-owner")).toBe(true);
    expect(await env.redis.exists(lock)).toBe(0);
    expect(await releaseCheckoutLock(env.redis, lock, "e20-owner")).toBe(true);
  });
});
