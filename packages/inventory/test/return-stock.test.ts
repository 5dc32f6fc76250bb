/**
 * Units a refund returned reach the cached level once: added when the level was cached
 * before the refund's MySQL commit and Redis kept its data since, skipped otherwise (a
 * level loaded later read MySQL with the units in it already). Skipping leaves the cache
 * low, which the reconciler repairs; adding twice would let a checkout oversell.
 */
import { afterAll, beforeAll, expect, test } from "vitest";
import { InventoryEngine, InventoryScriptError, type InventoryKeys } from "@oms/inventory";
import { createTestEnv, type TestEnv } from "../../../test/support/env";
import { noTruth } from "./support";

let env: TestEnv;
let engine: InventoryEngine;
let keys: InventoryKeys;

beforeAll(async () => {
  env = await createTestEnv();
  // Its own epoch marker, so moving it cannot disturb another test of this env.
  keys = { ...env.keys, stock: env.keys.stock, hold: env.keys.hold, epoch: `${env.keys.epoch}:returns` };
  engine = new InventoryEngine(env.redis, keys, noTruth);
});
afterAll(async () => env?.close());

const level = async (productId: string) => Number(await env.redis.get(keys.stock(productId)));

test("a level cached before the commit, in the same epoch, gets the units", async () => {
  await env.redis.set(keys.epoch, "epoch-1");
  await env.redis.set(keys.stock("r1"), 5);
  const ticket = await engine.returnTicket(["r1", "r1"]);
  expect(ticket).toEqual({ epoch: "epoch-1", cached: new Set(["r1"]) });
  expect(await engine.returnUnits(ticket, "r1", 3)).toBe(true);
  expect(await level("r1")).toBe(8);
});

test("Redis lost its data after the ticket: the reloaded level already has the units, none are added", async () => {
  await env.redis.set(keys.epoch, "epoch-2");
  await env.redis.set(keys.stock("r2"), 5);
  const ticket = await engine.returnTicket(["r2"]);
  // The recovery starts a new epoch and the level loads from MySQL, the 3 returned units in it.
  await env.redis.set(keys.epoch, "epoch-3");
  await env.redis.set(keys.stock("r2"), 8);
  expect(await engine.returnUnits(ticket, "r2", 3)).toBe(false);
  expect(await level("r2")).toBe(8);
  // No epoch at all (the recovery has not finished): nothing is added either.
  await env.redis.del(keys.epoch);
  expect(await engine.returnUnits({ epoch: null, cached: new Set(["r2"]) }, "r2", 3)).toBe(false);
  expect(await level("r2")).toBe(8);
});

test("a level not cached before the commit is left to its load from MySQL", async () => {
  await env.redis.set(keys.epoch, "epoch-4");
  const ticket = await engine.returnTicket(["r3"]);
  expect(ticket.cached.size).toBe(0);
  await env.redis.set(keys.stock("r3"), 8); // loaded after the commit
  expect(await engine.returnUnits(ticket, "r3", 3)).toBe(false);
  expect(await level("r3")).toBe(8);
});

test("a level gone since the ticket is not recreated, and nonsense units are refused", async () => {
  await env.redis.set(keys.epoch, "epoch-5");
  await env.redis.set(keys.stock("r4"), 5);
  const ticket = await engine.returnTicket(["r4"]);
  await env.redis.del(keys.stock("r4"));
  expect(await engine.returnUnits(ticket, "r4", 3)).toBe(false);
  expect(await env.redis.exists(keys.stock("r4"))).toBe(0);
  await env.redis.set(keys.stock("r4"), 5);
  await expect(engine.returnUnits(ticket, "r4", 0)).rejects.toBeInstanceOf(InventoryScriptError);
  await expect(engine.returnUnits(ticket, "r4", 1.5)).rejects.toBeInstanceOf(InventoryScriptError);
});
