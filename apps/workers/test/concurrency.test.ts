/**
 * A flash sale under real concurrency: 300 shoppers check out at once through the
 * HTTP API, served by two separate worker processes, for a hot product with 100 units.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestEnv, insertProducts, type TestEnv } from "../../../test/support/env";
import {
  postJson,
  spawnWorkerProcess,
  startApi,
  type RunningApi,
  type WorkerProcess,
} from "../../../test/support/system";
import { assertConservation, eventually } from "../../../test/support/invariants";

const CLIENTS = 300;
const HOT = "hot-product";
const HOT_STOCK = 100;
const SECOND = "second-product";
const SECOND_STOCK = 1000;
const HOT_PRICE = 4999;
const SECOND_PRICE = 250;

let env: TestEnv;
let api: RunningApi;
const workerProcesses: WorkerProcess[] = [];
const completedBy: number[] = [];

beforeAll(async () => {
  // A timeout far above the expected wall time, so every answer is final even on a loaded machine.
  env = await createTestEnv({ CHECKOUT_TIMEOUT_MS: "90000", PAYMENT_SIM_LATENCY_MS: "5" });
  await insertProducts(env.db, [
    { id: HOT, quantity: HOT_STOCK, priceCents: HOT_PRICE },
    { id: SECOND, quantity: SECOND_STOCK, priceCents: SECOND_PRICE },
  ]);
  // The carts go straight to MySQL: this test is about checkout, not about adding to carts.
  const rows = [];
  for (let i = 0; i < CLIENTS; i++) {
    const client = `client-${String(i).padStart(3, "0")}`;
    rows.push(
      { client_id: client, product_id: HOT, quantity: 1 },
      { client_id: client, product_id: SECOND, quantity: 1 },
    );
  }
  await env.db.batchInsert("client_cart", rows, 200);

  const started = await Promise.allSettled(
    [0, 1].map(() => spawnWorkerProcess(env, { WORKER_CONCURRENCY_CHECKOUT: "20" })),
  );
  for (const s of started) {
    if (s.status !== "fulfilled") continue;
    const index = workerProcesses.push(s.value) - 1;
    completedBy[index] = 0;
    // The processes log each completed order (LOG_LEVEL=info): count them per process.
    let partial = "";
    s.value.child.stdout?.on("data", (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split("\n");
      partial = lines.pop() ?? "";
      const count = lines.filter((line) => line.includes('"msg":"order completed"')).length;
      completedBy[index] = (completedBy[index] ?? 0) + count;
    });
  }
  const failed = started.find((s) => s.status === "rejected");
  if (failed) throw failed.reason;
  api = await startApi(env);
}, 90_000);

afterAll(async () => {
  await api?.close();
  await Promise.all(workerProcesses.map((w) => w.stop()));
  await env?.close();
}, 60_000);

describe(`${CLIENTS} concurrent checkouts of a product with ${HOT_STOCK} units`, () => {
  it("sells exactly the stock, rejects the rest as out of stock, and conserves every unit", async () => {
    expect(workerProcesses.map((w) => w.child.pid)).toHaveLength(2);
    const started = performance.now();
    const answers = await Promise.all(
      Array.from({ length: CLIENTS }, (_, i) =>
        postJson(`${api.url}/checkOutCart`, {
          clientID: `client-${String(i).padStart(3, "0")}`,
          paymentToken: "tok_ok",
        }),
      ),
    );
    const wallMs = performance.now() - started;

    const byStatus = new Map<number, number>();
    for (const a of answers) byStatus.set(a.status, (byStatus.get(a.status) ?? 0) + 1);
    const completed = answers.filter((a) => a.status === 200);
    const rejected = answers.filter((a) => a.status === 409);
    console.log(
      `[concurrency] ${CLIENTS} checkouts, 2 worker processes x 20: wall ${wallMs.toFixed(0)} ms, ` +
        `completed ${completed.length}, rejected ${rejected.length}, ` +
        `${((CLIENTS / wallMs) * 1000).toFixed(1)} checkouts/s, statuses ${JSON.stringify(Object.fromEntries(byStatus))}`,
    );

    expect(Object.fromEntries(byStatus)).toEqual({ 200: HOT_STOCK, 409: CLIENTS - HOT_STOCK });
    // Both processes took part (their logs are read asynchronously: give them a moment).
    await eventually("both worker processes to log their completed orders", async () =>
      completedBy.reduce((s, n) => s + n, 0) === HOT_STOCK ? true : undefined,
    );
    console.log(`[concurrency] completed orders per worker process: ${JSON.stringify(completedBy)}`);
    expect(completedBy.every((n) => n > 0)).toBe(true);
    for (const a of completed) {
      expect(a.body).toMatchObject({ status: "Success", state: "completed", totalCents: HOT_PRICE + SECOND_PRICE });
    }
    for (const a of rejected) {
      expect(a.body).toMatchObject({
        status: "Failed",
        error: expect.stringContaining(`not enough stock of ${HOT}`),
        productID: HOT,
        available: 0,
        state: "failed",
      });
    }
    expect(new Set(answers.map((a) => a.body.orderId)).size).toBe(CLIENTS);

    const report = await assertConservation(
      env,
      new Map([
        [HOT, HOT_STOCK],
        [SECOND, SECOND_STOCK],
      ]),
      { timeoutMs: 30_000 },
    );
    expect(report.completedOrders).toBe(HOT_STOCK);
    expect(report.failedOrders).toBe(CLIENTS - HOT_STOCK);
    expect(report.products).toEqual([
      { productId: HOT, initial: HOT_STOCK, mysql: 0, sold: HOT_STOCK, returned: 0, redis: 0 },
      {
        productId: SECOND,
        initial: SECOND_STOCK,
        mysql: SECOND_STOCK - HOT_STOCK,
        sold: HOT_STOCK,
        returned: 0,
        redis: 900,
      },
    ]);

    // The winners' carts are empty, the others' carts are kept whole.
    const carts = (await env.db("client_cart").select("client_id").count({ n: "*" }).groupBy("client_id")) as Array<{
      client_id: string;
      n: number;
    }>;
    expect(carts).toHaveLength(CLIENTS - HOT_STOCK);
    expect(carts.every((c) => Number(c.n) === 2)).toBe(true);
    const payments = (await env.db("payments").select("status").count({ n: "*" }).groupBy("status")) as Array<{
      status: string;
      n: number;
    }>;
    expect(payments.map((p) => [p.status, Number(p.n)])).toEqual([["succeeded", HOT_STOCK]]);
  }, 150_000);
});
