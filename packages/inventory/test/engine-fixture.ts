/**
 * What the engine-*.test.ts files share (not a test file itself): a Redis and MySQL of
 * their own, an engine per test whose expiry set and held hash are the test's own, truth
 * sources that count their calls, and readers of the levels and held units. The
 * concurrency-*.test.ts files use its env and keys too (concurrency-fixture.ts).
 */
import type { Redis } from "ioredis";
import { afterAll, beforeAll } from "vitest";
import { InventoryEngine, mysqlTruth, type InventoryKeys, type TruthSource } from "@oms/inventory";
import { createStandaloneTestEnv, type TestEnv } from "../../../test/support/env";

export const TTL = 60_000;
export const NOW = 1_700_000_000_000;

export let env: TestEnv<Redis>;

/** Gives this test file its own database and key prefix, and closes them after. */
export function setUpEngine(): void {
  beforeAll(async () => {
    env = await createStandaloneTestEnv();
  });
  afterAll(async () => env?.close());
}

export type EngineOptions = NonNullable<ConstructorParameters<typeof InventoryEngine>[3]>;

/** The held hash of one test's engine. */
export const heldKey = (tag: string) => `${env.keys.held()}:${tag}`;
/** The epoch marker of one test's engine (absent unless the test sets it). */
export const epochKey = (tag: string) => `${env.keys.epoch()}:${tag}`;

/**
 * The keys of one test's engine: its expiry set and held hash are its own (so live-hold
 * counts, sweeps and held totals only see this test's holds); stock and hold keys are the
 * env's, ids are unique per test. The epoch marker is the env's (set) unless `ownEpoch`
 * asks for this test's own (unset until the test sets it).
 */
export function engineKeys(tag: string, ownEpoch = false): InventoryKeys {
  return {
    shards: [0],
    shardOf: () => 0,
    stock: env.keys.stock,
    hold: env.keys.hold,
    holdExpiries: () => `${env.keys.holdExpiries()}:${tag}`,
    held: () => heldKey(tag),
    epoch: () => (ownEpoch ? epochKey(tag) : env.keys.epoch()),
    stockChanges: env.keys.stockChanges,
  };
}

/** An engine on the env's Redis with the keys of `engineKeys(tag, ownEpoch)`. */
export function engineFor(
  tag: string,
  truth: TruthSource = mysqlTruth(env.db),
  options: EngineOptions & { ownEpoch?: boolean } = {},
): InventoryEngine {
  const { ownEpoch = false, ...engineOptions } = options;
  return new InventoryEngine(env.redis, engineKeys(tag, ownEpoch), truth, engineOptions);
}

/**
 * A truth source that counts how often, and for which ids, it was consulted; `beforeLook`
 * runs just before each look at MySQL (given its number, from 1).
 */
export function countingTruth(beforeLook?: (look: number) => Promise<unknown>): {
  truth: TruthSource;
  calls: string[][];
} {
  const calls: string[][] = [];
  const mysql = mysqlTruth(env.db);
  return {
    calls,
    truth: async (ids) => {
      calls.push([...ids]);
      await beforeLook?.(calls.length);
      return mysql(ids);
    },
  };
}

export async function addPending(reserveId: string, productId: string, quantity: number): Promise<void> {
  await env.db("reserve_purchase").insert({ reserve_id: reserveId, product_id: productId, quantity });
}
