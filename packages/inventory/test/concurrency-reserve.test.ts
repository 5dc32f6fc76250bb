/**
 * Reservations racing for the same units over several independent Redis connections: the
 * reserve script's atomicity alone decides the winners, on a warm cache, on a cold one
 * (every racer loading from MySQL) and for carts of two lines (all or nothing).
 */
import { expect, test } from "vitest";
import { mysqlTruth, type ReserveResult } from "@oms/inventory";
import { insertProducts } from "../../../test/support/env";
import { scanKeys } from "./support";
import {
  CONNECTIONS,
  enginesFor,
  env,
  expectHeldMatchesLiveHolds,
  level,
  setUpConnections,
  TTL,
} from "./concurrency-fixture";

setUpConnections();

/** Samples a stock level on its own connection until stopped; returns the lowest value seen. */
function watchMinimum(productId: string): { stop(): Promise<number> } {
  let running = true;
  let minimum = Number.POSITIVE_INFINITY;
  const loop = (async () => {
    while (running) {
      const v = await env.redis.get(env.keys.stock(productId));
      if (v !== null) minimum = Math.min(minimum, Number(v));
      await new Promise((r) => setImmediate(r));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return minimum;
    },
  };
}

function tally(results: ReserveResult[]) {
  return {
    fresh: results.filter((r) => r.ok && !r.replayed).length,
    insufficient: results.filter((r) => !r.ok && r.reason === "insufficient_stock").length,
  };
}

test("200 reservations racing for 50 units over 8 connections: exactly 50 win and stock ends at exactly 0", async () => {
  await env.redis.set(env.keys.stock("race1-p"), 50);
  const engines = enginesFor("race1");
  const watcher = watchMinimum("race1-p");

  const results = await Promise.all(
    Array.from({ length: 200 }, (_, i) =>
      engines[i % CONNECTIONS]!.reserve(`race1-o${i}`, [{ productId: "race1-p", quantity: 1 }], TTL),
    ),
  );
  const minimumSeen = await watcher.stop();

  expect(tally(results)).toEqual({ fresh: 50, insufficient: 150 });
  for (const r of results) {
    if (!r.ok && r.reason === "insufficient_stock")
      expect(r).toEqual({ ok: false, reason: "insufficient_stock", productId: "race1-p", available: 0 });
  }
  expect(await level("race1-p")).toBe(0);
  expect(Number.isFinite(minimumSeen)).toBe(true); // the watcher did sample
  expect(minimumSeen).toBeGreaterThanOrEqual(0);
  expect(await scanKeys(env.redis, env.keys.hold("race1-o*"))).toHaveLength(50);
  expect(await env.redis.zcard(`${env.keys.holdExpiries()}:race1`)).toBe(50);
  // The winners are exactly the ids whose hold exists.
  const winners = results.flatMap((r, i) => (r.ok ? [`race1-o${i}`] : [])).sort();
  expect((await env.redis.zrange(`${env.keys.holdExpiries()}:race1`, 0, -1)).sort()).toEqual(winners);
  expect(await expectHeldMatchesLiveHolds("race1")).toEqual(new Map([["race1-p", 50]]));
});

test("the same race on a cold cache: every racer loads from MySQL, yet exactly 50 win", async () => {
  await insertProducts(env.db, [{ id: "race2-p", quantity: 50 }]);
  const engines = enginesFor("race2", mysqlTruth(env.db));

  const results = await Promise.all(
    Array.from({ length: 200 }, (_, i) =>
      engines[i % CONNECTIONS]!.reserve(`race2-o${i}`, [{ productId: "race2-p", quantity: 1 }], TTL),
    ),
  );

  expect(tally(results)).toEqual({ fresh: 50, insufficient: 150 });
  expect(await level("race2-p")).toBe(0);
  expect(await scanKeys(env.redis, env.keys.hold("race2-o*"))).toHaveLength(50);
  expect(await env.redis.zcard(`${env.keys.holdExpiries()}:race2`)).toBe(50);
  expect(await expectHeldMatchesLiveHolds("race2")).toEqual(new Map([["race2-p", 50]]));
});

test("100 two-line carts (A=30, B=1000) racing: exactly 30 win, A ends at 0 and B at 970 (all or nothing)", async () => {
  await env.redis.set(env.keys.stock("race3-a"), 30);
  await env.redis.set(env.keys.stock("race3-b"), 1000);
  const engines = enginesFor("race3");
  const cart = [
    { productId: "race3-a", quantity: 1 },
    { productId: "race3-b", quantity: 1 },
  ];

  const results = await Promise.all(
    Array.from({ length: 100 }, (_, i) => engines[i % CONNECTIONS]!.reserve(`race3-o${i}`, cart, TTL)),
  );

  expect(tally(results)).toEqual({ fresh: 30, insufficient: 70 });
  for (const r of results) {
    if (!r.ok) expect(r).toEqual({ ok: false, reason: "insufficient_stock", productId: "race3-a", available: 0 });
  }
  expect(await level("race3-a")).toBe(0);
  expect(await level("race3-b")).toBe(970);
  expect(await scanKeys(env.redis, env.keys.hold("race3-o*"))).toHaveLength(30);
  expect(await env.redis.zcard(`${env.keys.holdExpiries()}:race3`)).toBe(30);
  expect(await expectHeldMatchesLiveHolds("race3")).toEqual(
    new Map([
      ["race3-a", 30],
      ["race3-b", 30],
    ]),
  );
});
