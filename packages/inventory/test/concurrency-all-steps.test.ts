/**
 * Every step of a hold racing at once over several independent Redis connections
 * (reserve, replay, begin-commit, commit, release and expiry sweeps): the held hash still
 * counts exactly the live holds, available + held + sold adds up per product, and the
 * expiry set lists exactly the holds still held or paying.
 */
import { expect, test } from "vitest";
import type { StockLine } from "@oms/inventory";
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
