/**
 * InventoryEngine through its public methods, with MySQL as the truth source.
 */
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import {
  CacheNotReadyError,
  InventoryCode,
  InventoryEngine,
  InventoryScriptError,
  mysqlTruth,
  releaseCheckoutLock,
  type InventoryKeys,
  type TruthSource,
} from "@oms/inventory";
import { createStandaloneTestEnv, insertProducts, type TestEnv } from "../../../test/support/env";
import { deferred, heldUnits, liveHoldUnits, noTruth } from "./support";

const TTL = 60_000;
const NOW = 1_700_000_000_000;

let env: TestEnv<Redis>;
beforeAll(async () => {
  env = await createStandaloneTestEnv();
});
afterAll(async () => env?.close());

type EngineOptions = NonNullable<ConstructorParameters<typeof InventoryEngine>[3]>;

/** The held hash of one test's engine. */
const heldKey = (tag: string) => `${env.keys.held()}:${tag}`;
/** The epoch marker of one test's engine (absent unless the test sets it). */
const epochKey = (tag: string) => `${env.keys.epoch()}:${tag}`;

/**
 * An engine whose expiry set and held hash are its own (so live-hold counts, sweeps
 * and held totals only see this test's holds); stock and hold keys are the env's, ids
 * are unique per test. The epoch marker is the env's (set) unless `ownEpoch` asks for
 * this test's own (unset until the test sets it).
 */
function engineFor(
  tag: string,
  truth: TruthSource = mysqlTruth(env.db),
  options: EngineOptions & { ownEpoch?: boolean } = {},
): InventoryEngine {
  const { ownEpoch = false, ...engineOptions } = options;
  const keys: InventoryKeys = {
    shards: [0],
    shardOf: () => 0,
    stock: env.keys.stock,
    hold: env.keys.hold,
    holdExpiries: () => `${env.keys.holdExpiries()}:${tag}`,
    held: () => heldKey(tag),
    epoch: () => (ownEpoch ? epochKey(tag) : env.keys.epoch()),
    stockChanges: env.keys.stockChanges,
  };
  return new InventoryEngine(env.redis, keys, truth, engineOptions);
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

/** Units the test's held hash counts for a product (null: no field). */
const heldOf = async (tag: string, productId: string) => {
  const v = await env.redis.hget(heldKey(tag), productId);
  return v === null ? null : Number(v);
};

/** Cached level + held units per product: reserve and release move units between them, commit removes them. */
async function totals(tag: string, productIds: string[]): Promise<number[]> {
  return Promise.all(productIds.map(async (p) => ((await cached(p)) ?? Number.NaN) + ((await heldOf(tag, p)) ?? 0)));
}

/** The held hash equals what the hold records of these orders say is still held. */
async function expectHeldMatchesHolds(tag: string, orderIds: string[]): Promise<void> {
  const fromHolds = await liveHoldUnits(
    env.redis,
    orderIds.map((id) => env.keys.hold(id)),
  );
  expect(await heldUnits(env.redis, heldKey(tag))).toEqual(fromHolds);
}

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
    expect(await heldUnits(env.redis, heldKey("e6"))).toEqual(new Map());
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
    expect(await heldOf("e8", "e8-a")).toBe(2);

    expect(await engine.release("e8")).toEqual({ ok: true, replayed: false });
    expect(await engine.reserve("e8", lines, TTL)).toEqual({ ok: false, reason: "hold_released" });
    expect(await engine.available(["e8-a"])).toEqual(new Map([["e8-a", 5]]));
    expect(await heldOf("e8", "e8-a")).toBeNull();
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
    expect(await heldOf("e10", "e10-a")).toBeNull();
  });

  test("a cart listing the same product twice that fits is held as one line, counted once in the held hash", async () => {
    await insertProducts(env.db, [{ id: "e10b-a", quantity: 5 }]);
    const engine = engineFor("e10b");

    expect(
      await engine.reserve(
        "e10b",
        [
          { productId: "e10b-a", quantity: 2 },
          { productId: "e10b-a", quantity: 1 },
        ],
        TTL,
      ),
    ).toEqual({ ok: true, replayed: false });
    expect((await engine.hold("e10b"))?.lines).toEqual([{ productId: "e10b-a", quantity: 3 }]);
    expect(await heldOf("e10b", "e10b-a")).toBe(3);
    expect(await totals("e10b", ["e10b-a"])).toEqual([5]);

    expect(await engine.release("e10b")).toEqual({ ok: true, replayed: false });
    expect(await heldOf("e10b", "e10b-a")).toBeNull();
    expect(await cached("e10b-a")).toBe(5);
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
    // The record names each line's product id itself (p<i>), beside its stock key (k<i>).
    expect(await env.redis.hmget(env.keys.hold("e11"), "p1", "k1", "p2", "k2")).toEqual([
      "e11-b",
      env.keys.stock("e11-b"),
      "e11-a",
      env.keys.stock("e11-a"),
    ]);

    expect(await engine.beginCommit("e11")).toEqual({ ok: true });
    expect(await engine.hold("e11")).toMatchObject({ state: "committing", lines });
    expect(await heldUnits(env.redis, heldKey("e11"))).toEqual(
      new Map([
        ["e11-a", 1],
        ["e11-b", 2],
      ]),
    );

    expect(await engine.commit("e11")).toEqual({ ok: true });
    expect(await engine.commit("e11")).toEqual({ ok: true });
    expect(await engine.hold("e11")).toMatchObject({ state: "committed", expiresAt: NOW + TTL, lines });
    expect(await heldUnits(env.redis, heldKey("e11"))).toEqual(new Map());

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
    expect(await heldOf("e12", productId)).toBe(2);
    expect(await engine.release("e12")).toEqual({ ok: true, replayed: false });
    expect(await heldOf("e12", productId)).toBeNull();
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
    // Only the paying hold is still counted as held.
    expect(await heldOf("e13", "e13-a")).toBe(1);
    expect(await totals("e13", ["e13-a"])).toEqual([9]);
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
    const engine = engineFor("e15", mysqlTruth(env.db), { retentionMs: 200 });

    await engine.reserve("e15", [{ productId: "e15-a", quantity: 1 }], TTL);
    await engine.commit("e15");
    expect((await engine.hold("e15"))?.state).toBe("committed");
    await vi.waitFor(async () => expect(await engine.hold("e15")).toBeNull(), { timeout: 3_000, interval: 50 });
    expect(await heldOf("e15", "e15-a")).toBeNull();
  });
});

describe("stock changes, live holds and expiry sweeps", () => {
  test("adjustCachedLevel adjusts a cached level and answers null for an uncached one without caching it", async () => {
    await insertProducts(env.db, [
      { id: "e16-a", quantity: 5 },
      { id: "e16-b", quantity: 5 },
    ]);
    const engine = engineFor("e16");
    await engine.load(["e16-a"]);

    expect(await engine.adjustCachedLevel("e16-a", 3)).toBe(8);
    expect(await engine.adjustCachedLevel("e16-a", -6)).toBe(2);
    expect(await engine.available(["e16-a"])).toEqual(new Map([["e16-a", 2]]));

    // Uncached: MySQL already has the change; the next load reads it from there.
    await env.db("product_details").where({ product_id: "e16-b" }).update({ quantity: 12 });
    expect(await engine.adjustCachedLevel("e16-b", 7)).toBeNull();
    expect(await cached("e16-b")).toBeNull();
    expect(await engine.available(["e16-b"])).toEqual(new Map([["e16-b", 12]]));
  });

  test("adjustCachedLevel with a fractional change throws InventoryScriptError(INVALID_ARGUMENT)", async () => {
    await insertProducts(env.db, [{ id: "e17-a", quantity: 5 }]);
    const engine = engineFor("e17");
    await engine.load(["e17-a"]);

    await expect(engine.adjustCachedLevel("e17-a", 0.5)).rejects.toMatchObject({
      name: "InventoryScriptError",
      script: "adjust-level",
      code: InventoryCode.INVALID_ARGUMENT,
    });
    expect(await cached("e17-a")).toBe(5);
  });

  test("liveHoldCount counts holds held or paying; commit and release each take one away, begin-commit none", async () => {
    await insertProducts(env.db, [{ id: "e18-a", quantity: 100 }]);
    const engine = engineFor("e18");
    const one = [{ productId: "e18-a", quantity: 1 }];

    expect(await engine.liveHoldCount()).toBe(0);
    for (const id of ["e18-1", "e18-2", "e18-3", "e18-4"]) await engine.reserve(id, one, TTL);
    await engine.reserve("e18-1", one, TTL); // replay: no new live hold
    expect(await engine.liveHoldCount()).toBe(4);

    await engine.beginCommit("e18-1");
    expect(await engine.liveHoldCount()).toBe(4);
    await engine.commit("e18-2");
    expect(await engine.liveHoldCount()).toBe(3);
    await engine.release("e18-3");
    expect(await engine.liveHoldCount()).toBe(2);
    await engine.commit("e18-1");
    expect(await engine.liveHoldCount()).toBe(1);
    // Only e18-4 is still held (e18-3 released, the others committed).
    expect(await heldOf("e18", "e18-a")).toBe(1);
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
    expect(await engine.liveHoldCount()).toBe(6);

    expect(await engine.expiredHoldIds(NOW + TTL + 5)).toEqual(["e19-old-1", "e19-vanished", "e19-old-2", "e19-old-3"]);
    // The limit bounds one sweep; the rest waits for the next.
    expect(await engine.sweepExpired(NOW + TTL + 5, 2)).toBe(1);
    expect(await engine.sweepExpired(NOW + TTL + 5)).toBe(2);
    expect(await engine.sweepExpired(NOW + TTL + 5)).toBe(0);

    // 1 + 2 + 4 came back; the vanished hold's 32 cannot be returned (no record of it).
    expect(await engine.available(["e19-a"])).toEqual(new Map([["e19-a", 44]]));
    // Held: paying 8 + fresh 16, and the vanished hold's 32, which nothing can end now.
    expect(await heldOf("e19", "e19-a")).toBe(56);
    expect(await totals("e19", ["e19-a"])).toEqual([100]);
    // Fresh (not expired yet) and paying (never expires) stay live.
    expect(await engine.liveHoldCount()).toBe(2);
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

describe("units held per product", () => {
  test("available + held stays at MySQL's level through reserve, replays, begin-commit, release and sweeps; commit lowers it by its units", async () => {
    await insertProducts(env.db, [
      { id: "h1-a", quantity: 10 },
      { id: "h1-b", quantity: 6 },
    ]);
    const engine = engineFor("h1");
    const products = ["h1-a", "h1-b"];
    const orders = ["h1-1", "h1-2", "h1-3", "h1-4", "h1-5"];
    const check = async (label: string, held: Array<[string, number]>, sum: number[]) => {
      expect(await heldUnits(env.redis, heldKey("h1")), label).toEqual(new Map(held));
      expect(await totals("h1", products), label).toEqual(sum);
      await expectHeldMatchesHolds("h1", orders);
    };
    const a = (quantity: number) => ({ productId: "h1-a", quantity });
    const b = (quantity: number) => ({ productId: "h1-b", quantity });

    expect(await engine.reserve("h1-1", [a(2), b(1)], TTL, NOW)).toEqual({ ok: true, replayed: false });
    await check(
      "reserve h1-1",
      [
        ["h1-a", 2],
        ["h1-b", 1],
      ],
      [10, 6],
    );
    expect(await engine.reserve("h1-2", [a(3)], TTL, NOW)).toEqual({ ok: true, replayed: false });
    expect(await engine.reserve("h1-3", [b(4)], TTL, NOW + TTL)).toEqual({ ok: true, replayed: false });
    await check(
      "reserve h1-2, h1-3",
      [
        ["h1-a", 5],
        ["h1-b", 5],
      ],
      [10, 6],
    );
    expect(await engine.reserve("h1-1", [a(2), b(1)], TTL, NOW)).toEqual({ ok: true, replayed: true });
    expect(await engine.reserve("h1-4", [b(2)], TTL, NOW)).toMatchObject({ ok: false, reason: "insufficient_stock" });
    await check(
      "replay and a short cart",
      [
        ["h1-a", 5],
        ["h1-b", 5],
      ],
      [10, 6],
    );

    expect(await engine.beginCommit("h1-2")).toEqual({ ok: true });
    await check(
      "begin-commit h1-2",
      [
        ["h1-a", 5],
        ["h1-b", 5],
      ],
      [10, 6],
    );

    // The sweep releases h1-1 (expired) only: h1-2 is paying, h1-3 is still live.
    expect(await engine.sweepExpired(NOW + TTL)).toBe(1);
    await check(
      "sweep",
      [
        ["h1-a", 3],
        ["h1-b", 4],
      ],
      [10, 6],
    );
    expect(await engine.release("h1-1")).toEqual({ ok: true, replayed: true });
    await check(
      "release replay",
      [
        ["h1-a", 3],
        ["h1-b", 4],
      ],
      [10, 6],
    );

    expect(await engine.commit("h1-2")).toEqual({ ok: true });
    await check("commit h1-2", [["h1-b", 4]], [7, 6]);
    expect(await engine.commit("h1-2")).toEqual({ ok: true });
    expect(await engine.release("h1-2")).toEqual({ ok: false, reason: "hold_committed" });
    expect(await engine.reserve("h1-2", [a(3)], TTL)).toEqual({ ok: true, replayed: true });
    await check("commit replays", [["h1-b", 4]], [7, 6]);

    expect(await engine.release("h1-3")).toEqual({ ok: true, replayed: false });
    await check("release h1-3", [], [7, 6]);

    expect(await engine.reserve("h1-5", [a(7), b(6)], TTL)).toEqual({ ok: true, replayed: false });
    expect(await engine.commit("h1-5")).toEqual({ ok: true });
    await check("commit h1-5 straight from held", [], [0, 0]);
    expect(await engine.available(products)).toEqual(
      new Map([
        ["h1-a", 0],
        ["h1-b", 0],
      ]),
    );
  });
});

describe("reconcile", () => {
  /** A truth source that runs `between` (once) just before its second look at MySQL. */
  function truthWithSecondLook(between: () => Promise<unknown>): { truth: TruthSource; calls: string[][] } {
    const calls: string[][] = [];
    const mysql = mysqlTruth(env.db);
    return {
      calls,
      truth: async (ids) => {
        calls.push([...ids]);
        if (calls.length === 2) await between();
        return mysql(ids);
      },
    };
  }

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
