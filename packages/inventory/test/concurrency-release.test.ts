/**
 * Holds ended by racing calls over several independent Redis connections: a hold released
 * many times at once returns its stock exactly once, and a commit racing a release leaves
 * the hold either sold or returned, never both.
 */
import { expect, test } from "vitest";
import type { ReleaseResult } from "@oms/inventory";
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

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

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
