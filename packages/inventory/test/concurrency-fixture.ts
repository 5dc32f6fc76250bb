/**
 * What the concurrency-*.test.ts files share (not a test file itself): the env of
 * engine-fixture.ts, CONNECTIONS more Redis connections of its own, one engine per
 * connection on a scenario's own expiry set and held hash, and the check that the held
 * hash counts exactly the live holds.
 */
import { afterAll, beforeAll, expect } from "vitest";
import type { Redis } from "ioredis";
import { createRedis } from "@oms/shared";
import { InventoryEngine, type TruthSource } from "@oms/inventory";
import { waitReady } from "../../../test/support/env";
import { engineKeys, env, heldKey, setUpEngine } from "./engine-fixture";
import { heldUnits, liveHoldUnits, noTruth, scanKeys } from "./support";

export { env } from "./engine-fixture";

export const CONNECTIONS = 8;
export const TTL = 600_000;

let connections: Redis[] = [];

/** Gives this test file its own database, key prefix and connections, and closes them after. */
export function setUpConnections(): void {
  setUpEngine();
  beforeAll(async () => {
    connections = Array.from({ length: CONNECTIONS }, (_, i) =>
      createRedis(env.config.REDIS_URL, { name: `${env.id}-race-${i}` }),
    );
    await Promise.all(connections.map(waitReady));
  });
  afterAll(() => {
    for (const c of connections) c.disconnect();
  });
}

/** One engine per connection; each scenario has its own expiry set and held hash. */
export function enginesFor(scenario: string, truth: TruthSource = noTruth): InventoryEngine[] {
  const keys = engineKeys(scenario);
  return connections.map((c) => new InventoryEngine(c, keys, truth));
}

/**
 * The held hash of a scenario counts exactly the units of its holds still "held" or
 * "committing" (hold ids start with `${scenario}-o`); answers those units per product.
 */
export async function expectHeldMatchesLiveHolds(scenario: string): Promise<Map<string, number>> {
  const holdKeys = await scanKeys(env.redis, env.keys.hold(`${scenario}-o*`));
  const live = await liveHoldUnits(env.redis, holdKeys);
  expect(await heldUnits(env.redis, heldKey(scenario))).toEqual(live);
  return live;
}

export const level = async (productId: string) => Number(await env.redis.get(env.keys.stock(productId)));
