/**
 * Each inventory shard has its own epoch marker, on the node that holds the shard: when
 * one node of a Cluster restarts empty, the recovery restarts the epoch of the shards it
 * held and leaves the others (their levels, their holds) alone.
 */
import { afterAll, beforeAll, expect, test } from "vitest";
import { createLogger } from "@oms/shared";
import { createWorkerDeps, type WorkerDeps } from "../src/deps";
import { sagaDeps } from "../src/checkout/saga-deps";
import { recoverIfRedisLostData } from "../src/inventory/recovery";
import { createTestEnv, insertProducts, type TestEnv } from "../../../test/support/env";

let env: TestEnv;
let deps: WorkerDeps;

beforeAll(async () => {
  env = await createTestEnv({ INVENTORY_SHARDS: "3" });
  deps = createWorkerDeps(env.config, createLogger("silent", "shard-recovery-test"));
});
afterAll(async () => {
  await deps?.close();
  await env?.close();
});

/** A product id that lands in `shard`. */
function productIn(shard: number, tag: string): string {
  for (let i = 0; ; i++) if (env.keys.shardOf(`${tag}-${i}`) === shard) return `${tag}-${i}`;
}

test("one shard's node restarting empty restarts that shard's epoch only; the other shards keep theirs and their levels", async () => {
  const kept = productIn(0, "rec-kept");
  const lost = productIn(1, "rec-lost");
  await insertProducts(env.db, [
    { id: kept, quantity: 10 },
    { id: lost, quantity: 10 },
  ]);
  // Levels as reservations left them (4 held of the kept product, 3 of the lost one).
  await env.redis.set(env.keys.stock(kept), 6);
  await env.redis.hset(env.keys.held(0), kept, 4);
  await env.redis.set(env.keys.stock(lost), 7);
  await env.redis.hset(env.keys.held(1), lost, 3);
  const keptEpochs = [await env.redis.get(env.keys.epoch(0)), await env.redis.get(env.keys.epoch(2))];

  // The node of shard 1 comes back empty.
  await env.redis.del(env.keys.epoch(1), env.keys.stock(lost), env.keys.held(1));
  expect(await recoverIfRedisLostData(deps, sagaDeps(deps))).toBe(true);

  expect(await env.redis.exists(env.keys.epoch(1))).toBe(1);
  expect([await env.redis.get(env.keys.epoch(0)), await env.redis.get(env.keys.epoch(2))]).toEqual(keptEpochs);
  expect(await env.redis.get(env.keys.stock(kept))).toBe("6");
  expect(await env.redis.hget(env.keys.held(0), kept)).toBe("4");
  // The lost shard's level loads from MySQL again.
  expect(await deps.engine.available([lost])).toEqual(new Map([[lost, 10]]));
  // Nothing left to recover.
  expect(await recoverIfRedisLostData(deps, sagaDeps(deps))).toBe(false);
});
