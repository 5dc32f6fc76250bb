/**
 * Real contention: many reservations and releases fired at once over several
 * independent Redis connections, so the scripts' atomicity is what keeps counts right.
 */
import { afterAll, beforeAll, expect, test } from "vitest";
import type { Redis } from "ioredis";
import { createRedis } from "@oms/shared";
import {
  InventoryEngine,
  mysqlTruth,
  type InventoryKeys,
  type ReleaseResult,
  type ReserveResult,
} from "@oms/inventory";
import { createTestEnv, insertProducts, waitReady, type TestEnv } from "../../../test/support/env";
import { noTruth, scanKeys } from "./support";

const CONNECTIONS = 8;
const TTL = 600_000;

let env: TestEnv;
let connections: Redis[] = [];

beforeAll(async () => {
  env = await createTestEnv();
  connections = Array.from({ length: CONNECTIONS }, (_, i) =>
    createRedis(env.config.REDIS_URL, { name: `${env.id}-race-${i}` }),
  );
  await Promise.all(connections.map(waitReady));
});
afterAll(async () => {
  for (const c of connections) c.disconnect();
  await env?.close();
});

/** One engine per connection; each scenario has its own expiry set. */
function enginesFor(scenario: string, truth = noTruth): InventoryEngine[] {
  const keys: InventoryKeys = {
    stock: env.keys.stock,
    hold: env.keys.hold,
    holdExpiries: `${env.keys.holdExpiries}:${scenario}`,
  };
  return connections.map((c) => new InventoryEngine(c, keys, truth));
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const level = async (productId: string) => Number(await env.redis.get(env.keys.stock(productId)));

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
  expect(await env.redis.zcard(`${env.keys.holdExpiries}:race1`)).toBe(50);
  // The winners are exactly the ids whose hold exists.
  const winners = results.flatMap((r, i) => (r.ok ? [`race1-o${i}`] : [])).sort();
  expect((await env.redis.zrange(`${env.keys.holdExpiries}:race1`, 0, -1)).sort()).toEqual(winners);
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
  expect(await env.redis.zcard(`${env.keys.holdExpiries}:race2`)).toBe(50);
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
  expect(await env.redis.zcard(`${env.keys.holdExpiries}:race3`)).toBe(30);
});

test("50 concurrent releases and replays of the same 10 holds return each hold's stock exactly once", async () => {
  await env.redis.set(env.keys.stock("race4-p"), 100);
  const engines = enginesFor("race4");
  const holds = Array.from({ length: 10 }, (_, i) => `race4-o${i}`);
  for (const [i, id] of holds.entries()) {
    expect(await engines[0]!.reserve(id, [{ productId: "race4-p", quantity: i + 1 }], TTL)).toEqual({
      ok: true,
      replayed: false,
    });
  }
  expect(await level("race4-p")).toBe(100 - 55);

  // Each hold is released 5 times, the attempts interleaved across connections.
  const attempts = Array.from({ length: 50 }, (_, i) => holds[i % 10]!);
  const results = await Promise.all(attempts.map((id, i) => engines[(i * 3) % CONNECTIONS]!.release(id)));

  const byHold = new Map<string, ReleaseResult[]>();
  attempts.forEach((id, i) => byHold.set(id, [...(byHold.get(id) ?? []), results[i]!]));
  for (const [id, outcomes] of byHold) {
    expect(
      outcomes.filter((r) => r.ok && !r.replayed),
      id,
    ).toHaveLength(1);
    expect(
      outcomes.filter((r) => r.ok && r.replayed),
      id,
    ).toHaveLength(4);
  }
  expect(await level("race4-p")).toBe(100);
  expect(await env.redis.zcard(`${env.keys.holdExpiries}:race4`)).toBe(0);
});

test("commit racing release on the same holds: each hold ends either sold or returned, never both", async () => {
  await env.redis.set(env.keys.stock("race5-p"), 200);
  const engines = enginesFor("race5");
  const holds = Array.from({ length: 40 }, (_, i) => `race5-o${i}`);
  for (const id of holds) await engines[0]!.reserve(id, [{ productId: "race5-p", quantity: 2 }], TTL);
  expect(await level("race5-p")).toBe(120);

  // Each pair is its own race between two connections, run one after another so the
  // pairs do not queue behind each other. release() makes two round trips (read the
  // hold, then the script), so the commit of every other pair starts 1 ms late to let
  // either side win some of the races.
  const outcomes = [];
  for (const [i, id] of holds.entries()) {
    const [commit, release] = await Promise.all([
      sleep(i % 2).then(() => engines[i % CONNECTIONS]!.commit(id)),
      engines[(i + 1) % CONNECTIONS]!.release(id),
    ]);
    outcomes.push({ commit, release, state: (await engines[0]!.hold(id))?.state });
  }

  let committed = 0;
  for (const { commit, release, state } of outcomes) {
    if (state === "committed") {
      committed++;
      expect(commit).toEqual({ ok: true });
      expect(release).toEqual({ ok: false, reason: "hold_committed" });
    } else {
      expect(state).toBe("released");
      expect(release).toEqual({ ok: true, replayed: false });
      expect(commit).toEqual({ ok: false, reason: "hold_released" });
    }
  }
  expect(await level("race5-p")).toBe(200 - 2 * committed);
  expect(await env.redis.zcard(`${env.keys.holdExpiries}:race5`)).toBe(0);
});
