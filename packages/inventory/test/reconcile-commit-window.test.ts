/**
 * The reconciler and a checkout between its two commits. The saga commits the order in
 * MySQL (its sale counted in reserve_purchase) and then commits the hold in Redis (its
 * units leave `held`). In between, MySQL's figure is lower than available + held by the
 * order's units: not drift, only a commit not landed yet. On a loaded machine that gap
 * outlived the reconciler's second look (500 ms), the level was "repaired" down, and the
 * hold's commit then took the same units out of `held` again: the cache stood low by
 * them (buyers turned away while stock was left) until a later pass raised it.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { InventoryEngine, mysqlTruth } from "@oms/inventory";
import { createTestEnv, insertProducts, type TestEnv } from "../../../test/support/env";

let env: TestEnv;
let engine: InventoryEngine;
beforeAll(async () => {
  env = await createTestEnv();
  engine = new InventoryEngine(env.redis, env.keys, mysqlTruth(env.db));
});
afterAll(async () => env?.close());

async function newProduct(quantity: number): Promise<string> {
  const id = `rw-${randomUUID().slice(0, 8)}`;
  await insertProducts(env.db, [{ id, quantity }]);
  await engine.load([id]);
  return id;
}

/** A checkout up to its MySQL commit: reserved, payment begun, the order completed and its sale owed to the flush. */
async function committedInMysqlOnly(productId: string, quantity: number): Promise<string> {
  const orderId = randomUUID();
  expect(await engine.reserve(orderId, [{ productId, quantity }], 60_000)).toEqual({ ok: true, replayed: false });
  await engine.beginCommit(orderId);
  await env.db("orders").insert({ order_id: orderId, client_id: "c-window", state: "completed", total_cents: 100 });
  await env.db("reserve_purchase").insert({ reserve_id: orderId, product_id: productId, quantity });
  return orderId;
}

async function cached(productId: string): Promise<number> {
  return Number(await env.redis.get(env.keys.stock(productId)));
}

async function mysqlFigure(productId: string): Promise<number> {
  return (await mysqlTruth(env.db)([productId])).get(productId) ?? NaN;
}

describe("reconcile while a checkout is between its MySQL and Redis commits", () => {
  test("the units of an order MySQL already sold but Redis still holds are not drift", async () => {
    const productId = await newProduct(10);
    const orderId = await committedInMysqlOnly(productId, 2);

    // The hold's commit lags past both looks.
    expect(await engine.reconcile(productId, 50)).toEqual({ productId, drift: 0, repaired: false });

    await engine.commit(orderId);
    expect(await cached(productId)).toBe(8);
    expect(await mysqlFigure(productId)).toBe(8);
  });

  test("real drift beside such an order is repaired by exactly its size", async () => {
    const productId = await newProduct(10);
    const orderId = await committedInMysqlOnly(productId, 3);
    // A reservation a failover lost: the cache stands 2 above what can be sold.
    await env.redis.incrby(env.keys.stock(productId), 2);

    expect(await engine.reconcile(productId, 50)).toEqual({ productId, drift: -2, repaired: true });

    await engine.commit(orderId);
    expect(await cached(productId)).toBe(7);
    expect(await mysqlFigure(productId)).toBe(7);
  });

  test("a hold whose order failed in MySQL is still counted as held (its release returns the units)", async () => {
    const productId = await newProduct(10);
    const orderId = randomUUID();
    await engine.reserve(orderId, [{ productId, quantity: 4 }], 60_000);
    await engine.beginCommit(orderId);
    await env.db("orders").insert({ order_id: orderId, client_id: "c-window", state: "failed", total_cents: 100 });

    expect(await engine.reconcile(productId, 50)).toEqual({ productId, drift: 0, repaired: false });
    await engine.release(orderId);
    expect(await cached(productId)).toBe(10);
  });
});
