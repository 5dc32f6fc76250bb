/**
 * InventoryEngine outside one reservation: restocks of a cached level, the live hold
 * count, expiry sweeps, the checkout lock, and the held hash, which keeps available +
 * held at MySQL's level through every step but commit.
 */
import { describe, expect, test } from "vitest";
import { InventoryCode, releaseCheckoutLock } from "@oms/inventory";
import { insertProducts } from "../../../test/support/env";
import { heldUnits } from "./support";
import { engineFor, env, heldKey, NOW, setUpEngine, TTL } from "./engine-fixture";
import { cached, expectHeldMatchesHolds, heldOf, totals } from "./engine-levels";

setUpEngine();

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
