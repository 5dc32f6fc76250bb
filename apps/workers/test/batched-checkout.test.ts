/**
 * The strongest MySQL-only design (reservations as conditional decrements per
 * group-commit batch) is reported by the benchmark beside ours, so it has to be correct
 * too: no oversell under a burst, all or nothing per cart, one charge per order, a
 * decline and a replay each put back exactly what was taken.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger, type CheckoutJob } from "@oms/shared";
import { createWorkerDeps, runBatchedCheckout, type WorkerDeps } from "@oms/workers";
import { createTestEnv, insertProducts, type TestEnv } from "../../../test/support/env";
import { eventCounts } from "../../../test/support/invariants";

let env: TestEnv;
let deps: WorkerDeps;

beforeAll(async () => {
  env = await createTestEnv();
  deps = createWorkerDeps(env.config, createLogger("silent", "batched-test"));
});

afterAll(async () => {
  await deps?.close();
  await env?.close();
});

const uid = () => randomUUID().slice(0, 8);

async function shopper(lines: Array<[string, number]>, paymentToken = "tok_ok"): Promise<CheckoutJob> {
  const job: CheckoutJob = { type: "checkout", orderId: randomUUID(), clientId: `c-${uid()}`, paymentToken };
  await env.db("client_cart").insert(lines.map(([p, q]) => ({ client_id: job.clientId, product_id: p, quantity: q })));
  await env.redis.set(env.keys.checkoutLock(job.clientId), job.orderId, "PX", 120_000);
  return job;
}

const stockOf = async (productId: string) =>
  Number(
    ((await env.db("product_details").where({ product_id: productId }).first("quantity")) as { quantity: number })
      .quantity,
  );

describe("runBatchedCheckout (batchedReservation, the bench's)", () => {
  it("60 concurrent checkouts of 10 units: 10 orders, 10 charges, stock 0, batches of many", async () => {
    const product = `p-${uid()}`;
    await insertProducts(env.db, [{ id: product, quantity: 10, priceCents: 250 }]);
    const jobs = await Promise.all(Array.from({ length: 60 }, () => shopper([[product, 1]])));
    const results = await Promise.all(jobs.map((j) => runBatchedCheckout(j, deps)));
    const outcomes = results.reduce<Record<string, number>>(
      (n, r) => ({ ...n, [r.outcome]: (n[r.outcome] ?? 0) + 1 }),
      {},
    );
    expect(outcomes).toEqual({ completed: 10, out_of_stock: 50 });
    expect(await stockOf(product)).toBe(0);
    const ids = jobs.map((j) => j.orderId);
    expect(await eventCounts(env, ids)).toEqual({ "order.completed": 10, "order.failed": 50 });
    // A batch may take the level from above the threshold to 0 at once: then only stock.out.
    expect(await env.db("events").where({ product_id: product, type: "stock.out" }).count({ n: "*" })).toEqual([
      { n: 1 },
    ]);
    expect(await env.db("payments").whereIn("order_id", ids).where({ status: "succeeded" }).count({ n: "*" })).toEqual([
      { n: 10 },
    ]);
    expect(await env.db("reserve_purchase").whereIn("reserve_id", ids)).toEqual([]);
    // The burst was written in batches, not one transaction per write.
    const { values } = await deps.metrics.writeBatchSize.get();
    const of = (name: string) =>
      values.find((v) => v.metricName === name && v.labels.outcome === "committed")?.value ?? 0;
    expect(of("oms_write_batch_size_sum") / of("oms_write_batch_size_count")).toBeGreaterThan(2);
    const locks = await env.redis.mget(jobs.map((j) => env.keys.checkoutLock(j.clientId)));
    expect(locks.filter((l) => l !== null)).toEqual([]);
  });

  it("reserves a cart all or nothing: a short second line leaves the first line's stock alone", async () => {
    const [a, b] = [`p-${uid()}`, `p-${uid()}`];
    await insertProducts(env.db, [
      { id: a, quantity: 5 },
      { id: b, quantity: 1 },
    ]);
    const job = await shopper([
      [a, 2],
      [b, 3],
    ]);
    expect(await runBatchedCheckout(job, deps)).toMatchObject({ outcome: "out_of_stock", productId: b, available: 1 });
    expect([await stockOf(a), await stockOf(b)]).toEqual([5, 1]);
  });

  it("a declined payment puts the units back once; a replay changes nothing", async () => {
    const product = `p-${uid()}`;
    await insertProducts(env.db, [{ id: product, quantity: 5 }]);
    const job = await shopper([[product, 2]], "tok_decline");
    expect(await runBatchedCheckout(job, deps)).toMatchObject({ outcome: "declined" });
    expect(await stockOf(product)).toBe(5);
    expect(await runBatchedCheckout(job, deps)).toMatchObject({ outcome: "failed" });
    expect(await stockOf(product)).toBe(5);
    expect(await eventCounts(env, [job.orderId])).toEqual({ "order.failed": 1 });
  });

  it("a replay after the reservation took the stock does not take it twice", async () => {
    const product = `p-${uid()}`;
    await insertProducts(env.db, [{ id: product, quantity: 5, priceCents: 100 }]);
    const job = await shopper([[product, 2]]);
    const created = await deps.orders.createPending(job.orderId, job.clientId);
    if (created.kind !== "created") throw new Error(created.kind);
    // A first delivery reserved, then died before paying.
    const { reserveInMysql } = await import("../src/checkout/mysql-stock-writes");
    expect(await deps.writer.submit(reserveInMysql, { order: created.order })).toEqual({ ok: true });
    expect(await stockOf(product)).toBe(3);
    expect(await runBatchedCheckout(job, deps)).toMatchObject({ outcome: "completed", totalCents: 200 });
    expect(await stockOf(product)).toBe(3);
  });
});
