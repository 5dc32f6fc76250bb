/**
 * A live hold whose order already ended in MySQL (its Redis step lost to a failover) is
 * settled by the hold sweep as the saga would have: committed for a paid order, in any
 * state the lifecycle moved it to since, and released for a failed one.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { InventoryEngine, mysqlTruth } from "@oms/inventory";
import { createTestEnv, insertProducts, type TestEnv } from "../../../test/support/env";
import { settleEndedHolds } from "../src/inventory/settle-holds";

let env: TestEnv;

beforeAll(async () => {
  env = await createTestEnv();
});

afterAll(async () => {
  await env?.close();
});

it("commits the holds of paid orders in every state after completed and releases a failed order's", async () => {
  const engine = new InventoryEngine(env.redis, env.keys, mysqlTruth(env.db));
  const product = `p-${randomUUID().slice(0, 8)}`;
  await insertProducts(env.db, [{ id: product, quantity: 10 }]);
  const states = ["completed", "cancelled", "refunded", "fulfilled", "shipped", "failed"] as const;
  const orders = states.map((state) => ({ state, orderId: randomUUID() }));
  for (const { orderId } of orders) {
    expect(await engine.reserve(orderId, [{ productId: product, quantity: 1 }], 60_000)).toMatchObject({ ok: true });
  }
  await env
    .db("orders")
    .insert(orders.map(({ state, orderId }) => ({ order_id: orderId, client_id: `c-${orderId.slice(0, 8)}`, state })));

  expect(await settleEndedHolds({ db: env.db, engine })).toBe(states.length);
  for (const { state, orderId } of orders) {
    expect((await engine.hold(orderId))?.state, state).toBe(state === "failed" ? "released" : "committed");
  }
  expect(await engine.liveHoldCount()).toBe(0);
});
