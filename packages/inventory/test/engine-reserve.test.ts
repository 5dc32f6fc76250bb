/**
 * InventoryEngine reserving and the holds it keeps: unknown products, short stock,
 * replays and invalid carts are refused without holding anything, and hold(), release(),
 * beginCommit() and commit() answer as the hold's state dictates.
 */
import { describe, expect, test, vi } from "vitest";
import { InventoryCode, InventoryScriptError, mysqlTruth } from "@oms/inventory";
import { insertProducts } from "../../../test/support/env";
import { heldUnits } from "./support";
import { engineFor, env, heldKey, NOW, setUpEngine, TTL } from "./engine-fixture";
import { cached, heldOf, totals } from "./engine-levels";

setUpEngine();

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
