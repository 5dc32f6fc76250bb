/**
 * The classic row-lock design is the benchmark's baseline, so it has to be correct too:
 * no oversell, one charge per order, and the client's checkout lock freed at the end.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger, type CheckoutJob } from "@oms/shared";
import { createWorkerDeps, runLockingCheckout, type WorkerDeps } from "@oms/workers";
import { createTestEnv, insertProducts, type TestEnv } from "../../../test/support/env";
import { eventCounts } from "../../../test/support/invariants";

let env: TestEnv;
let deps: WorkerDeps;

beforeAll(async () => {
  env = await createTestEnv();
  deps = createWorkerDeps(env.config, createLogger("silent", "locking-test"));
});

afterAll(async () => {
  await deps?.close();
  await env?.close();
});

const uid = () => randomUUID().slice(0, 8);

/** A client with one line in the cart and the checkout lock the API would have taken. */
async function shopper(productId: string, quantity: number, paymentToken = "tok_ok"): Promise<CheckoutJob> {
  const job: CheckoutJob = { type: "checkout", orderId: randomUUID(), clientId: `c-${uid()}`, paymentToken };
  await env.db("client_cart").insert({ client_id: job.clientId, product_id: productId, quantity });
  await env.redis.set(env.keys.checkoutLock(job.clientId), job.orderId, "PX", 120_000);
  return job;
}

const stockOf = async (productId: string) =>
  Number(
    ((await env.db("product_details").where({ product_id: productId }).first("quantity")) as { quantity: number })
      .quantity,
  );

describe("runLockingCheckout (lockingReservation, the bench's)", () => {
  it("40 concurrent checkouts of 10 units: 10 orders, 10 charges, stock 0, every checkout lock freed", async () => {
    const product = `p-${uid()}`;
    await insertProducts(env.db, [{ id: product, quantity: 10, priceCents: 250 }]);
    const jobs = await Promise.all(Array.from({ length: 40 }, () => shopper(product, 1)));

    const results = await Promise.all(jobs.map((j) => runLockingCheckout(j, deps)));

    const outcomes = results.reduce<Record<string, number>>(
      (n, r) => ({ ...n, [r.outcome]: (n[r.outcome] ?? 0) + 1 }),
      {},
    );
    expect(outcomes).toEqual({ completed: 10, out_of_stock: 30 });
    expect(await stockOf(product)).toBe(0);
    const ids = jobs.map((j) => j.orderId);
    // Each in the transaction that made the change: one event per order, each crossing of the level once.
    expect(await eventCounts(env, ids)).toEqual({ "order.completed": 10, "order.failed": 30 });
    expect(await env.db("events").where({ product_id: product }).orderBy("seq").pluck("type")).toEqual([
      "stock.low",
      "stock.out",
    ]);
    expect(await env.db("payments").whereIn("order_id", ids).where({ status: "succeeded" }).count({ n: "*" })).toEqual([
      { n: 10 },
    ]);
    const locks = await env.redis.mget(jobs.map((j) => env.keys.checkoutLock(j.clientId)));
    expect(locks.filter((l) => l !== null)).toEqual([]);
  });

  it("a declined payment puts the units back and frees the lock; a replay changes nothing", async () => {
    const product = `p-${uid()}`;
    await insertProducts(env.db, [{ id: product, quantity: 5 }]);
    const job = await shopper(product, 2, "tok_decline");

    expect(await runLockingCheckout(job, deps)).toMatchObject({ outcome: "declined", orderId: job.orderId });
    expect(await stockOf(product)).toBe(5);
    expect(await env.redis.exists(env.keys.checkoutLock(job.clientId))).toBe(0);

    expect(await runLockingCheckout(job, deps)).toMatchObject({ outcome: "failed", orderId: job.orderId });
    expect(await stockOf(product)).toBe(5);
    expect(await eventCounts(env, [job.orderId])).toEqual({ "order.failed": 1 });
  });

  it("leaves the lock of another checkout in progress alone", async () => {
    const product = `p-${uid()}`;
    await insertProducts(env.db, [{ id: product, quantity: 5 }]);
    const first = await shopper(product, 1);
    await env.db("orders").insert({ order_id: first.orderId, client_id: first.clientId, state: "pending" });
    const second: CheckoutJob = { ...first, orderId: randomUUID() };

    expect(await runLockingCheckout(second, deps)).toMatchObject({ outcome: "failed" });
    expect(await env.redis.get(env.keys.checkoutLock(first.clientId))).toBe(first.orderId);
  });
});
