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
  type StockLine,
} from "@oms/inventory";
import { createStandaloneTestEnv, insertProducts, waitReady, type TestEnv } from "../../../test/support/env";
import { heldUnits, liveHoldUnits, noTruth, scanKeys } from "./support";

const CONNECTIONS = 8;
const TTL = 600_000;

let env: TestEnv<Redis>;
let connections: Redis[] = [];

beforeAll(async () => {
  env = await createStandaloneTestEnv();
  connections = Array.from({ length: CONNECTIONS }, (_, i) =>
    createRedis(env.config.REDIS_URL, { name: `${env.id}-race-${i}` }),
  );
  await Promise.all(connections.map(waitReady));
});
afterAll(async () => {
  for (const c of connections) c.disconnect();
  await env?.close();
});

const heldKey = (scenario: string) => `${env.keys.held()}:${scenario}`;

/** One engine per connection; each scenario has its own expiry set and held hash. */
function enginesFor(scenario: string, truth = noTruth): InventoryEngine[] {
  const keys: InventoryKeys = {
    shards: [0],
    shardOf: () => 0,
    stock: env.keys.stock,
    hold: env.keys.hold,
    holdExpiries: () => `${env.keys.holdExpiries()}:${scenario}`,
    held: () => heldKey(scenario),
    epoch: () => env.keys.epoch(),
    stockChanges: env.keys.stockChanges,
  };
  return connections.map((c) => new InventoryEngine(c, keys, truth));
}

/**
 * The held hash of a scenario counts exactly the units of its holds still "held" or
 * "committing" (hold ids start with `${scenario}-o`); answers those units per product.
 */
async function expectHeldMatchesLiveHolds(scenario: string): Promise<Map<string, number>> {
  const holdKeys = await scanKeys(env.redis, env.keys.hold(`${scenario}-o*`));
  const live = await liveHoldUnits(env.redis, holdKeys);
  expect(await heldUnits(env.redis, heldKey(scenario))).toEqual(live);
  return live;
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
  expect(await expectHeldMatchesLiveHolds("race4")).toEqual(new Map([["race4-p", 55]]));

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
  expect(await env.redis.zcard(`${env.keys.holdExpiries()}:race4`)).toBe(0);
  // Every hold released exactly once: nothing left held, no count driven below zero.
  expect(await expectHeldMatchesLiveHolds("race4")).toEqual(new Map());
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
  expect(await env.redis.zcard(`${env.keys.holdExpiries()}:race5`)).toBe(0);
  expect(await expectHeldMatchesLiveHolds("race5")).toEqual(new Map());
});

test("reserve, replay, begin-commit, commit, release and expiry sweeps all racing: held counts exactly the live holds", async () => {
  const initial = new Map([
    ["race6-a", 60],
    ["race6-b", 50],
    ["race6-c", 100],
  ]);
  for (const [productId, units] of initial) await env.redis.set(env.keys.stock(productId), units);
  const engines = enginesFor("race6");
  const NOW = 1_700_000_000_000;
  const cartOf = (i: number): StockLine[] =>
    [
      [
        { productId: "race6-a", quantity: 1 },
        { productId: "race6-c", quantity: 2 },
      ],
      [
        { productId: "race6-b", quantity: 1 },
        { productId: "race6-c", quantity: 1 },
      ],
      [
        { productId: "race6-a", quantity: 2 },
        { productId: "race6-b", quantity: 1 },
      ],
    ][i % 3]!;
  const engine = (i: number) => engines[i % CONNECTIONS]!;
  // Half the holds (alternating blocks of six, so every fate below gets both) are expired
  // by the time the sweeps run; the other half are still live.
  const startOf = (i: number) => (Math.floor(i / 6) % 2 === 0 ? NOW : NOW + TTL);

  const ids = Array.from({ length: 120 }, (_, i) => `race6-o${i}`);
  const reserved = await Promise.all(ids.map((id, i) => engine(i).reserve(id, cartOf(i), TTL, startOf(i))));
  expect(reserved.filter((r) => r.ok).length).toBeGreaterThan(0);
  expect(reserved.filter((r) => !r.ok).length).toBeGreaterThan(0);
  await expectHeldMatchesLiveHolds("race6");

  // Every order (won or not) gets one fate; all of them, sweeps and replays run at once.
  const fates = ids.map((id, i) => {
    const e = engine(i + 3);
    switch (i % 6) {
      case 0:
        return e.beginCommit(id).then(() => e.commit(id));
      case 1:
        return e.release(id);
      case 2:
        return e.beginCommit(id);
      case 3:
        return Promise.all([e.commit(id), engine(i + 4).release(id)]);
      case 4:
        return e.reserve(id, cartOf(i), TTL, startOf(i)).then(() => e.commit(id));
      default:
        return Promise.resolve(); // left to the sweeps (or still live)
    }
  });
  const sweeps = [0, 1, 2].map((k) => engines[k]!.sweepExpired(NOW + TTL));
  const [, swept] = await Promise.all([Promise.all(fates), Promise.all(sweeps)]);

  const live = await expectHeldMatchesLiveHolds("race6");

  // Units of committed holds per product, from the records.
  const committed = new Map<string, number>();
  for (const id of ids) {
    const hold = await engines[0]!.hold(id);
    if (hold?.state !== "committed") continue;
    for (const l of hold.lines) committed.set(l.productId, (committed.get(l.productId) ?? 0) + l.quantity);
  }
  expect(committed.size).toBeGreaterThan(0);
  for (const [productId, units] of initial) {
    const available = await level(productId);
    expect(available, productId).toBeGreaterThanOrEqual(0);
    expect(available + (live.get(productId) ?? 0), productId).toBe(units - (committed.get(productId) ?? 0));
  }
  // The expiry set lists exactly the live holds: those still "held" (the ones nothing
  // ended) by their expiry, and those "committing" (paying, never expiring) at +inf.
  const stillHeld: string[] = [];
  const paying: string[] = [];
  for (const id of ids) {
    const state = (await engines[0]!.hold(id))?.state;
    if (state === "held") stillHeld.push(id);
    if (state === "committing") paying.push(id);
  }
  expect(paying.length).toBeGreaterThan(0);
  expect((await env.redis.zrangebyscore(`${env.keys.holdExpiries()}:race6`, "-inf", "(+inf")).sort()).toEqual(
    stillHeld.sort(),
  );
  expect((await env.redis.zrangebyscore(`${env.keys.holdExpiries()}:race6`, "+inf", "+inf")).sort()).toEqual(
    paying.sort(),
  );
  const untouched = ids.filter((_, i) => i % 6 === 5 && reserved[i]!.ok);
  const untouchedLive = untouched.filter((id) => startOf(ids.indexOf(id)) !== NOW);
  expect(stillHeld.sort()).toEqual(untouchedLive.sort());
  expect(stillHeld.length).toBeGreaterThan(0);
  // Every expired untouched hold was released by one of the racing sweeps (which may
  // also have beaten some other fates to their expired holds).
  expect(untouched.length).toBeGreaterThan(untouchedLive.length);
  expect(swept.reduce((sum, n) => sum + n, 0)).toBeGreaterThanOrEqual(untouched.length - untouchedLive.length);
});
