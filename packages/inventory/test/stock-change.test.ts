/**
 * stock-change-2.lua through StockChanges, and reconcile.lua beside it: a change of a
 * level made in MySQL and in the cache lands in the cache once, or not at all (the cache
 * left low for the reconciler), never twice.
 */
import { afterAll, beforeAll, expect, test } from "vitest";
import type { Redis } from "ioredis";
import { defineInventoryScripts, InventoryScriptError, StockChanges, type InventoryKeys } from "@oms/inventory";
import type { InventoryCommands } from "../src/scripts";
import { createStandaloneTestEnv, type TestEnv } from "../../../test/support/env";
import { sleep } from "../../../test/support/invariants";

let env: TestEnv<Redis>;
let redis: Redis & InventoryCommands;
let keys: InventoryKeys;
let changes: StockChanges;

beforeAll(async () => {
  env = await createStandaloneTestEnv();
  redis = defineInventoryScripts(env.redis);
  keys = env.keys;
  changes = new StockChanges(env.redis, keys);
});
afterAll(async () => env?.close());

const level = async (productId: string) => Number(await env.redis.get(keys.stock(productId)));
const inFlight = (productId: string) => env.redis.zcard(keys.stockChanges(productId));

test("a change begun on a cached level moves it, and its end lets the reconciler look again", async () => {
  await env.redis.set(keys.stock("c1"), 5);
  const change = await changes.begin("c1");
  expect(change.cached).toBe(true);
  expect(await inFlight("c1")).toBe(1);
  expect(await changes.move(change, -2, { guarded: true })).toEqual({ moved: true, level: 3 });
  expect(await changes.move(change, -4, { guarded: true })).toEqual({
    moved: false,
    reason: "insufficient_stock",
    available: 3,
  });
  expect(await changes.move(change, 7, { end: true })).toEqual({ moved: true, level: 10 });
  expect(await inFlight("c1")).toBe(0);
  // Over: a late move of the same change lands nowhere.
  expect(await changes.move(change, 7, { end: true })).toEqual({ moved: false, reason: "expired" });
  expect(await level("c1")).toBe(10);
});

test("a level not cached when the change began is left to its load from MySQL, even if loaded since", async () => {
  const change = await changes.begin("c2");
  expect(change.cached).toBe(false);
  await env.redis.set(keys.stock("c2"), 8); // loaded from MySQL after the commit: the units are in it
  expect(await changes.move(change, 3, { end: true })).toEqual({ moved: false, reason: "not_cached" });
  expect(await level("c2")).toBe(8);
  expect(await inFlight("c2")).toBe(0);
});

test("Redis lost its data after the change began: the reloaded level is not moved", async () => {
  await env.redis.set(keys.stock("c3"), 5);
  const change = await changes.begin("c3");
  await env.redis.del(keys.stock("c3"), keys.stockChanges("c3"));
  await env.redis.set(keys.stock("c3"), 8); // the recovery reloaded it from MySQL
  expect(await changes.move(change, 3, { end: true })).toEqual({ moved: false, reason: "expired" });
  expect(await level("c3")).toBe(8);
});

test("a move after the change's time to live is dropped", async () => {
  const short = new StockChanges(env.redis, keys, 200);
  await env.redis.set(keys.stock("c4"), 5);
  const change = await short.begin("c4");
  await sleep(300);
  expect(await short.move(change, 3, { end: true })).toEqual({ moved: false, reason: "expired" });
  expect(await level("c4")).toBe(5);
});

test("the reconciler reports drift but repairs nothing while a change is in flight, and repairs after", async () => {
  await env.redis.set(keys.stock("c5"), 5);
  const reconcile = (mode: "check" | "repair", expected = 0) =>
    redis.omsReconcile(3, keys.stock("c5"), keys.held(), keys.stockChanges("c5"), "c5", 8, mode, expected);
  const change = await changes.begin("c5");
  // MySQL's half landed (8), the cache's has not yet.
  expect(await reconcile("check")).toEqual([0, 3, 0]);
  expect(await reconcile("repair", 3)).toEqual([0, 3, 0]);
  expect(await level("c5")).toBe(5);
  await changes.end(change);
  expect(await reconcile("repair", 3)).toEqual([0, 3, 1]);
  expect(await level("c5")).toBe(8);
});

test("nonsense arguments are refused", async () => {
  await env.redis.set(keys.stock("c6"), 5);
  const change = await changes.begin("c6");
  await expect(changes.move(change, 1.5)).rejects.toBeInstanceOf(InventoryScriptError);
  expect(await redis.omsStockChange(keys.stock("c6"), keys.stockChanges("c6"), "begin", "x", 0)).toEqual([7, 0]);
  expect(await redis.omsStockChange(keys.stock("c6"), keys.stockChanges("c6"), "undo", "x")).toEqual([7, 0]);
  expect(await level("c6")).toBe(5);
});
