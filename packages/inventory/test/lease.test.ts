/**
 * lease-1.lua and recovery-finish-2.lua called directly, and the Lease built on them:
 * only the token that holds a lease may extend, release or finish with it.
 */
import { afterAll, beforeAll, expect, test } from "vitest";
import type { Redis } from "ioredis";
import { defineInventoryScripts, Lease } from "@oms/inventory";
import type { InventoryCommands } from "../src/scripts";
import { createStandaloneTestEnv, type TestEnv } from "../../../test/support/env";
import { sleep } from "../../../test/support/invariants";

let env: TestEnv<Redis>;
let redis: Redis & InventoryCommands;

beforeAll(async () => {
  env = await createStandaloneTestEnv();
  redis = defineInventoryScripts(env.redis);
});
afterAll(async () => env?.close());

const key = (name: string) => `{${env.id}}:lease-test:${name}`;

test("lease-1.lua extends and releases only for the token that holds the lease", async () => {
  await redis.set(key("a"), "mine", "PX", 1_000);
  expect(await redis.omsLease(key("a"), "theirs", "extend", 60_000)).toEqual([9]);
  expect(await redis.pttl(key("a"))).toBeLessThanOrEqual(1_000);
  expect(await redis.omsLease(key("a"), "mine", "extend", 60_000)).toEqual([0]);
  expect(await redis.pttl(key("a"))).toBeGreaterThan(59_000);
  expect(await redis.omsLease(key("a"), "theirs", "release")).toEqual([9]);
  expect(await redis.get(key("a"))).toBe("mine");
  expect(await redis.omsLease(key("a"), "mine", "release")).toEqual([0]);
  expect(await redis.exists(key("a"))).toBe(0);
  expect(await redis.omsLease(key("a"), "mine", "extend", 60_000)).toEqual([9]);
  expect(await redis.exists(key("a"))).toBe(0);
});

test("recovery-finish-2.lua sets the epoch only for the lease's holder, and frees the lease", async () => {
  await redis.set(key("recovery"), "successor");
  expect(await redis.omsRecoveryFinish(key("recovery"), key("epoch"), "frozen-one", "e1")).toEqual([9]);
  expect(await redis.exists(key("epoch"))).toBe(0);
  expect(await redis.get(key("recovery"))).toBe("successor");
  expect(await redis.omsRecoveryFinish(key("recovery"), key("epoch"), "successor", "e2")).toEqual([0]);
  expect(await redis.get(key("epoch"))).toBe("e2");
  expect(await redis.exists(key("recovery"))).toBe(0);
});

test("a Lease renews itself while held, is lost once it lapses, and never frees a successor's", async () => {
  const lease = await Lease.take(redis, key("renewed"), 300);
  expect(lease).toBeDefined();
  expect(await Lease.take(redis, key("renewed"), 300)).toBeUndefined();
  // Three lease lifetimes later it is still held: the holder renewed it.
  await sleep(900);
  expect(await redis.get(key("renewed"))).toBe(lease?.token);
  // A holder that stops renewing (frozen) loses it to the next one.
  lease?.stopRenewing();
  await sleep(400);
  const successor = await Lease.take(redis, key("renewed"), 5_000);
  expect(successor).toBeDefined();
  expect(await lease?.renew()).toBe(false);
  await lease?.release();
  expect(await redis.get(key("renewed"))).toBe(successor?.token);
  await successor?.release();
  expect(await redis.exists(key("renewed"))).toBe(0);
});
