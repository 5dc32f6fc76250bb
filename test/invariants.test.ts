/**
 * The shared invariant checker itself: on a world written by hand it passes what is
 * right and names each thing that is off, so a check that silently stopped checking
 * (the tests, the benchmark and the chaos suite all rely on it) fails here.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "./support/env";
import { conservationReport } from "./support/invariants";
import { checkSystem } from "./support/invariants/system";

let env: TestEnv;
const A = "inv-a";
const B = "inv-b";
const books = [
  { productId: A, initial: 10, restocked: 0 },
  { productId: B, initial: 5, restocked: 2 },
];
let paidOrder: string;

beforeAll(async () => {
  env = await createTestEnv();
});
afterAll(async () => env?.close());

async function order(state: string, lines: Array<[string, number]>, total: number, paymentRef: string | null) {
  const orderId = randomUUID();
  await env
    .db("orders")
    .insert({ order_id: orderId, client_id: "c1", state, total_cents: total, payment_ref: paymentRef });
  await env.db("order_items").insert(
    lines.map(([productId, quantity]) => ({
      order_id: orderId,
      product_id: productId,
      quantity,
      unit_price_cents: 100,
    })),
  );
  return orderId;
}

/** A right world: 2 units of A sold and charged once, B restocked by 2. */
beforeEach(async () => {
  for (const table of ["payments", "reserve_purchase", "order_items", "orders", "product_details"])
    await env.db(table).del();
  await env.db("product_details").insert([
    { product_id: A, product_name: "A", quantity: 8 },
    { product_id: B, product_name: "B", quantity: 7 },
  ]);
  paidOrder = await order("completed", [[A, 2]], 200, "ref-1");
  await env.db("payments").insert({
    idempotency_key: paidOrder,
    order_id: paidOrder,
    amount_cents: 200,
    status: "succeeded",
    provider_ref: "ref-1",
  });
  for (const id of [A, B]) await env.redis.del(env.keys.stock(id), env.keys.held(env.keys.shardOf(id)));
  await env.redis.set(env.keys.stock(A), "8");
  await env.redis.set(env.keys.stock(B), "7");
  for (const shard of env.keys.shards) await env.redis.del(env.keys.holdExpiries(shard));
});

async function failing(): Promise<Record<string, string[]>> {
  const system = await checkSystem(env, books);
  return Object.fromEntries(
    Object.values(system.checks)
      .filter((c) => c.violations.length)
      .map((c) => [c.name, c.violations]),
  );
}

describe("the shared invariant checker", () => {
  it("passes a right world and counts what it checked", async () => {
    const report = await conservationReport(env, new Map([[A, 10]]), { timeoutMs: 1_000 });
    expect(report.violations).toEqual([]);
    expect(report.completedOrders).toBe(1);
    expect(report.checks.map((c) => c.name)).toHaveLength(6);
    expect(report.checks.every((c) => c.checked > 0)).toBe(true);
    expect(await failing()).toEqual({});
  });

  it("names an oversell and a unit not conserved", async () => {
    await order("completed", [[A, 20]], 2000, null);
    const failed = await failing();
    expect(failed["no product sold past its stock"]).toEqual([expect.stringContaining(`${A}: sold 22 > initial 10`)]);
    expect(failed["conservation: initial + restocks + returned = MySQL quantity + sold"]).toEqual([
      expect.stringContaining("off by -20"),
    ]);
  });

  it("names a double charge, a charge of the wrong amount and a charge of a failed order", async () => {
    await env.db("payments").insert({
      idempotency_key: `${paidOrder}-again`,
      order_id: paidOrder,
      amount_cents: 200,
      status: "succeeded",
      provider_ref: "ref-2",
    });
    const failedOrder = await order("failed", [[B, 1]], 100, null);
    await env.db("payments").insert({
      idempotency_key: failedOrder,
      order_id: failedOrder,
      amount_cents: 50,
      status: "succeeded",
      provider_ref: "ref-3",
    });
    const failed = await failing();
    expect(failed["exactly one charge of its total per paid order, none other"]).toEqual(
      expect.arrayContaining([
        expect.stringContaining("is not keyed by its order id"),
        expect.stringContaining(`order ${failedOrder} is failed but its payment succeeded`),
        `order ${paidOrder} has 2 payment rows`,
        `completed order ${paidOrder} has 2 succeeded payments`,
      ]),
    );
  });

  it("names a pending order, a stale cache, units held, a live hold and an unflushed decrement", async () => {
    const pending = await order("pending", [[B, 1]], 100, null);
    await env.redis.set(env.keys.stock(B), "6");
    await env.redis.hset(env.keys.held(env.keys.shardOf(A)), A, "1");
    await env.redis.zadd(env.keys.holdExpiries(0), Date.now(), pending);
    await env.db("reserve_purchase").insert({ reserve_id: pending, product_id: B, quantity: 1 });
    const failed = await failing();
    expect(failed["no order left pending, every order in a known state"]).toEqual([
      expect.stringContaining(`order ${pending} (client c1) is still pending`),
    ]);
    const cache = failed["Redis = MySQL, no holds left"];
    expect(cache).toHaveLength(3);
    expect(cache).toEqual(
      expect.arrayContaining([
        `${B}: Redis available 6 != MySQL quantity 7`,
        `${A}: 1 units still held in ${env.keys.held(env.keys.shardOf(A))}`,
        `1 live holds in ${env.keys.holdExpiries(0)}: ${pending}`,
      ]),
    );
    expect(failed["conservation: initial + restocks + returned = MySQL quantity + sold"]).toEqual([
      expect.stringContaining("1 reserve_purchase rows left"),
    ]);
  });
});
