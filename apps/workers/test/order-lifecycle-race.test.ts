/**
 * The lifecycle under concurrency and crashes, against the real Redis and MariaDB:
 * cancels, refunds and fulfils racing the checkout that completes the order (exactly
 * one refund), a worker dying between the provider's refund and its record, an API
 * dying before it queued the refund job, and a refund meeting the flush and the
 * reconciler.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger, QUEUE_NAMES, type Knex } from "@oms/shared";
import { SimulatedPaymentProvider, settlePendingRefunds, settleRefund, type RefundDeps } from "@oms/workers";
import { createTestEnv, insertProducts, type TestEnv } from "../../../test/support/env";
import {
  addToCartOk,
  postJson,
  startApi,
  startInProcessWorkers,
  type ApiResponse,
  type InProcessWorkers,
  type RunningApi,
} from "../../../test/support/system";
import { assertConservation, eventually, flushAll } from "../../../test/support/invariants";
import { adminPost, buy, postEmpty, refundFigures, refundsSettled } from "../../../test/support/lifecycle";
import { recordRefund } from "../../../apps/api/src/orders/lifecycle";
import { cancelOrder } from "../../../apps/api/src/handlers/order-lifecycle";
import { reconcileStock } from "../src/inventory/reconcile";

const ADMIN_TOKEN = "admin-token-for-lifecycle-races";

let env: TestEnv;
let api: RunningApi;
let workers: InProcessWorkers;
let refundDeps: RefundDeps;
const initial = new Map<string, number>();

const uid = (tag: string) => `${tag}-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  // No flush unless a test asks for one: the refund-before-flush case needs the rows there.
  env = await createTestEnv({ ADMIN_TOKEN, FLUSH_WINDOW_MS: "60000", FLUSH_INTERVAL_MS: "600000" });
  workers = await startInProcessWorkers(env);
  api = await startApi(env);
  refundDeps = {
    db: env.db,
    refunds: new SimulatedPaymentProvider(env.db, { latencyMs: 0, transientFailures: 0 }),
    logger: createLogger("silent", "refund-test"),
  };
});

afterAll(async () => {
  await api?.close();
  await workers?.close();
  await env?.close();
});

async function product(quantity: number, priceCents = 300): Promise<string> {
  const id = uid("p");
  await insertProducts(env.db, [{ id, quantity, priceCents }]);
  initial.set(id, quantity);
  return id;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("racing the checkout that completes the order", () => {
  it("cancels, refunds and fulfils fired while it completes: exactly one refund per order, stock conserved", async () => {
    const p = await product(100);
    let sawPending = 0;
    for (let round = 0; round < 6; round++) {
      const client = uid("racer");
      await addToCartOk(api.url, client, p, 1 + (round % 3));
      // 202 at once with the order id: the moves start while the checkout runs.
      const started = await postJson(`${api.url}/checkOutCart`, { clientID: client }, { Prefer: "respond-async" });
      expect(started.status, JSON.stringify(started.body)).toBe(202);
      const orderId = String(started.body.orderId);
      const answers: Array<{ what: string; res: ApiResponse }> = [];
      const fire = (what: string, send: () => Promise<ApiResponse>) =>
        send().then((res) => answers.push({ what, res }));
      let after = 0;
      for (let batch = 0; batch < 400 && after < 2; batch++) {
        const wins = answers.filter((a) => a.res.status === 200 && a.what !== "fulfil").length;
        if (wins > 0) after++;
        await Promise.all([
          ...[1, 2, 3].map(() => fire("cancel", () => postEmpty(`${api.url}/orders/${orderId}/cancel`))),
          ...[1, 2, 3].map(() => fire("refund", () => adminPost(api.url, ADMIN_TOKEN, `/orders/${orderId}/refund`))),
          // Odd rounds also race a fulfil: then only a refund may still win, never a cancel.
          ...(round % 2 ? [fire("fulfil", () => adminPost(api.url, ADMIN_TOKEN, `/orders/${orderId}/fulfil`))] : []),
        ]);
        await sleep(5);
      }
      const moved = answers.filter((a) => a.res.status === 200 && a.what !== "fulfil");
      expect(moved, JSON.stringify(answers.map((a) => [a.what, a.res.status, a.res.body.code]))).toHaveLength(1);
      for (const a of answers.filter((x) => x.res.status !== 200)) {
        expect(a.res.status, JSON.stringify(a.res.body)).toBe(409);
        expect(a.res.body.code).toBe("INVALID_TRANSITION");
      }
      if (answers.some((a) => a.res.body.state === "pending")) sawPending++;
      const figures = await refundsSettled(env, orderId);
      expect(figures.refunds).toHaveLength(1);
      expect(figures.provider).toHaveLength(1);
    }
    // Answers came while orders were still pending: the race really was with the checkout.
    expect(sawPending).toBeGreaterThan(0);
    await assertConservation(env, new Map([[p, initial.get(p) ?? 0]]));
  });

  it("concurrent partial refunds of one order never refund a line past what was bought", async () => {
    const p = await product(50, 100);
    const orderId = await buy(api.url, uid("c"), [[p, 5]]);
    const answers = await Promise.all(
      Array.from({ length: 8 }, () =>
        adminPost(api.url, ADMIN_TOKEN, `/orders/${orderId}/refund`, { lines: [{ productID: p, quantity: 1 }] }),
      ),
    );
    expect(answers.filter((a) => a.status === 200)).toHaveLength(5);
    expect(answers.filter((a) => a.status === 409).map((a) => a.body.code)).toEqual(
      expect.arrayContaining(["INVALID_TRANSITION"]),
    );
    const figures = await refundsSettled(env, orderId);
    expect(figures.provider.reduce((s, r) => s + r.amount_cents, 0)).toBe(500);
  });
});

/** `db` whose transactions wait for `gate` (told through `reached`) before they begin: the handler's reads before them go on. */
function transactionsAfter(db: Knex, gate: Promise<void>, reached: () => void): Knex {
  return new Proxy(db, {
    get(target, prop, receiver) {
      if (prop !== "transaction") return Reflect.get(target, prop, receiver);
      return async (...args: Parameters<Knex["transaction"]>) => {
        reached();
        await gate;
        return target.transaction(...args);
      };
    },
  });
}

describe("a cancel that read the order before its checkout wrote it", () => {
  it("the order completes between the cancel's look at its lines and its commit: the units still reach the cache", async () => {
    const p = await product(10);
    const client = uid("early");
    await addToCartOk(api.url, client, p, 2);
    const checkoutWorker = workers.running.workers.find((w) => w.name === QUEUE_NAMES.checkout);
    if (!checkoutWorker) throw new Error("no checkout worker");
    // The order is the API's placeholder (no lines yet) while the cancel looks at it.
    await checkoutWorker.pause();
    let cancel: Promise<{ status: number; body: unknown }> | undefined;
    try {
      const started = await postJson(`${api.url}/checkOutCart`, { clientID: client }, { Prefer: "respond-async" });
      expect(started.status, JSON.stringify(started.body)).toBe(202);
      const orderId = String(started.body.orderId);
      let open = () => {};
      const gate = new Promise<void>((r) => (open = r));
      const reached = new Promise<void>((r) => {
        cancel = cancelOrder({ ...api.deps, db: transactionsAfter(api.deps.db, gate, r) }, orderId, client);
      });
      await reached;
      checkoutWorker.resume();
      // The checkout completes (its hold committed too) before the cancel's transaction begins.
      await eventually("the checkout to complete", async () => {
        const order = (await env.db("orders").where({ order_id: orderId }).first("state")) as { state: string };
        return order.state === "completed" && (await workers.deps.engine.hold(orderId))?.state === "committed"
          ? true
          : undefined;
      });
      open();
      const answer = await cancel;
      expect(answer?.status, JSON.stringify(answer?.body)).toBe(200);
      await refundsSettled(env, orderId);
    } finally {
      if (checkoutWorker.isPaused()) checkoutWorker.resume();
      await cancel?.catch(() => undefined);
    }
    await assertConservation(env, new Map([[p, initial.get(p) ?? 0]]));
  });
});

describe("crashes between the refund's steps", () => {
  it("the API died before queueing the job, the worker after the provider answered: the sweep lands it once", async () => {
    const p = await product(10, 250);
    const orderId = await buy(api.url, uid("c"), [[p, 2]]);
    // recordRefund alone is what the API commits before it queues the job.
    const recorded = await recordRefund(env.db, orderId, { kind: "refund" });
    if (recorded.kind !== "recorded") throw new Error(`not recorded: ${recorded.kind}`);
    const dies = () => Promise.reject(new Error("worker died after the provider answered"));
    await expect(settleRefund({ ...refundDeps, checkpoint: dies }, recorded.refundId)).rejects.toThrow("died");
    let figures = await refundFigures(env, orderId);
    expect(figures.refunds).toMatchObject([{ status: "pending" }]);
    expect(figures.provider).toHaveLength(1);

    expect(await settlePendingRefunds(refundDeps, 0)).toBe(1);
    expect(await settleRefund(refundDeps, recorded.refundId)).toBe("already_refunded");
    figures = await refundFigures(env, orderId);
    expect(figures.refunds).toMatchObject([{ status: "succeeded", amount_cents: 500 }]);
    expect(figures.provider).toEqual([{ idempotency_key: recorded.refundId, amount_cents: 500 }]);
    // The API died before the cache learnt of the return too: the reconciler repairs it.
    const report = await reconcileStock(env.db, workers.deps.engine, refundDeps.logger, undefined, 50);
    expect(report.repairs).toContainEqual({ productId: p, drift: 2 });
  });
});

describe("a refund, the flush and the reconciler", () => {
  it("a cancel before the sale is flushed: MySQL gets the units back at once, the flush then takes the sale", async () => {
    const p = await product(20, 100);
    const orderId = await buy(api.url, uid("c"), [[p, 4]]);
    const pending = () => env.db("reserve_purchase").where({ reserve_id: orderId }).sum({ n: "quantity" }).first();
    expect(Number(((await pending()) as { n: number | string }).n)).toBe(4);
    expect((await postEmpty(`${api.url}/orders/${orderId}/cancel`)).status).toBe(200);
    const quantity = async () =>
      Number(
        ((await env.db("product_details").where({ product_id: p }).first("quantity")) as { quantity: number }).quantity,
      );
    expect(await quantity()).toBe(24);
    const report = await reconcileStock(env.db, workers.deps.engine, refundDeps.logger, undefined, 50);
    expect(report.repairs.filter((r) => r.productId === p)).toEqual([]);
    await flushAll(env);
    expect(await quantity()).toBe(20);
    await refundsSettled(env, orderId);
    await assertConservation(env, initial);
  });
});
