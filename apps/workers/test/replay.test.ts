/**
 * Replays and crashes of the checkout saga against the real Redis and MariaDB: every
 * step must be safe to run again, whatever an earlier delivery left behind.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { createLogger, type CheckoutJob, type CheckoutResult } from "@oms/shared";
import {
  TransientPaymentError,
  compensateCheckout,
  createWorkerDeps,
  flushReservations,
  runCheckout,
  type ChargeRequest,
  type ChargeResult,
  type PaymentProvider,
  type WorkerDeps,
} from "@oms/workers";
import { sagaDeps } from "../src/checkout/saga-deps";
import { createTestEnv, insertProducts, type TestEnv } from "../../../test/support/env";
import { postJson, startApi, startInProcessWorkers } from "../../../test/support/system";
import { assertConservation, eventually } from "../../../test/support/invariants";

let env: TestEnv;
let deps: WorkerDeps;

const uid = () => randomUUID().slice(0, 8);

beforeAll(async () => {
  env = await createTestEnv();
  deps = createWorkerDeps(env.config, createLogger("silent", "replay-test"));
});

afterAll(async () => {
  await deps?.close();
  await env?.close();
});

interface Line {
  productId: string;
  stock: number;
  quantity: number;
  priceCents: number;
}

interface Prepared {
  job: CheckoutJob;
  lines: Line[];
  initial: Map<string, number>;
  totalCents: number;
}

/** Products and a client's cart written straight to MySQL, and the job the API would enqueue. */
async function prepare(
  spec: Array<{ stock: number; quantity: number; priceCents?: number }>,
  paymentToken = "tok_ok",
): Promise<Prepared> {
  const clientId = `c-${uid()}`;
  const lines = spec.map((s) => ({
    productId: `p-${uid()}`,
    stock: s.stock,
    quantity: s.quantity,
    priceCents: s.priceCents ?? 100,
  }));
  await insertProducts(
    env.db,
    lines.map((l) => ({ id: l.productId, quantity: l.stock, priceCents: l.priceCents })),
  );
  await env
    .db("client_cart")
    .insert(lines.map((l) => ({ client_id: clientId, product_id: l.productId, quantity: l.quantity })));
  return {
    job: { type: "checkout", orderId: randomUUID(), clientId, paymentToken },
    lines,
    initial: new Map(lines.map((l) => [l.productId, l.stock])),
    totalCents: lines.reduce((s, l) => s + l.quantity * l.priceCents, 0),
  };
}

interface Snapshot {
  orders: Array<{ order_id: string; state: string }>;
  payments: Array<{ status: string; attempts: number; amount_cents: number }>;
  reservePurchase: Array<{ product_id: string; quantity: number }>;
  mysql: Record<string, number>;
  redis: Record<string, string | null>;
  hold: string | null;
  cart: Array<{ product_id: string; quantity: number }>;
}

/** Everything the saga can touch for this order. */
async function snapshot(p: Prepared): Promise<Snapshot> {
  const ids = p.lines.map((l) => l.productId);
  const products = (await env
    .db("product_details")
    .whereIn("product_id", ids)
    .select("product_id", "quantity")) as Array<{
    product_id: string;
    quantity: number;
  }>;
  const cached = await env.redis.mget(ids.map((id) => env.keys.stock(id)));
  return {
    orders: (await env
      .db("orders")
      .where({ client_id: p.job.clientId })
      .select("order_id", "state")) as Snapshot["orders"],
    payments: (await env
      .db("payments")
      .where({ order_id: p.job.orderId })
      .select("status", "attempts", "amount_cents")) as Snapshot["payments"],
    reservePurchase: (await env
      .db("reserve_purchase")
      .where({ reserve_id: p.job.orderId })
      .orderBy("product_id")
      .select("product_id", "quantity")) as Snapshot["reservePurchase"],
    mysql: Object.fromEntries(products.map((r) => [r.product_id, Number(r.quantity)])),
    redis: Object.fromEntries(ids.map((id, i) => [id, cached[i] ?? null])),
    hold: await env.redis.hget(env.keys.hold(p.job.orderId), "state"),
    cart: (await env
      .db("client_cart")
      .where({ client_id: p.job.clientId })
      .orderBy("product_id")
      .select("product_id", "quantity")) as Snapshot["cart"],
  };
}

const stockAfterSale = (p: Prepared) =>
  Object.fromEntries(p.lines.map((l) => [l.productId, String(l.stock - l.quantity)]));
const stockUntouched = (p: Prepared) => Object.fromEntries(p.lines.map((l) => [l.productId, String(l.stock)]));
const cartOf = (p: Prepared) =>
  p.lines
    .map((l) => ({ product_id: l.productId, quantity: l.quantity }))
    .sort((x, y) => x.product_id.localeCompare(y.product_id));

/** What a crashed delivery left: the pending order, its hold, and (optionally) later steps. */
async function crashAfter(p: Prepared, steps: Array<"reserve" | "beginCommit" | "charge" | "complete">) {
  const created = await deps.orders.createPending(p.job.orderId, p.job.clientId);
  if (created.kind !== "created") throw new Error(`order not created: ${created.kind}`);
  const order = created.order;
  let reference = "";
  for (const step of steps) {
    switch (step) {
      case "reserve":
        expect(await deps.engine.reserve(order.orderId, order.items, env.config.HOLD_TTL_MS)).toEqual({
          ok: true,
          replayed: false,
        });
        break;
      case "beginCommit":
        expect(await deps.engine.beginCommit(order.orderId)).toEqual({ ok: true });
        break;
      case "charge": {
        const charge = await deps.payment.charge({
          idempotencyKey: order.orderId,
          orderId: order.orderId,
          amountCents: order.totalCents,
          token: p.job.paymentToken,
        });
        if (charge.status !== "succeeded") throw new Error(`charge ${charge.status}`);
        reference = charge.reference;
        break;
      }
      case "complete":
        expect(await deps.orders.complete(order, reference)).toBe("completed");
        break;
    }
  }
  return order;
}

describe("runCheckout replays", () => {
  it("running the same job twice sells once: one order, one charge, stock decremented once", async () => {
    const p = await prepare([
      { stock: 10, quantity: 3, priceCents: 500 },
      { stock: 7, quantity: 2, priceCents: 120 },
    ]);
    const saga = sagaDeps(deps);

    const first = await runCheckout(p.job, saga);
    expect(first).toEqual({ outcome: "completed", orderId: p.job.orderId, totalCents: p.totalCents });
    const afterFirst = await snapshot(p);
    expect(afterFirst.redis).toEqual(stockAfterSale(p));
    expect(afterFirst.reservePurchase).toEqual(cartOf(p));
    expect(afterFirst.hold).toBe("committed");
    expect(afterFirst.cart).toEqual([]);

    const second = await runCheckout(p.job, saga);
    expect(second).toEqual(first);
    const afterSecond = await snapshot(p);
    expect(afterSecond).toEqual(afterFirst);
    expect(afterSecond.orders).toEqual([{ order_id: p.job.orderId, state: "completed" }]);
    expect(afterSecond.payments).toEqual([{ status: "succeeded", attempts: 1, amount_cents: p.totalCents }]);

    await flushReservations(env.db, 1000);
    const flushed = await snapshot(p);
    expect(flushed.mysql).toEqual(Object.fromEntries(p.lines.map((l) => [l.productId, l.stock - l.quantity])));
    await assertConservation(env, p.initial);
  });

  it("a replayed out-of-stock order answers from its stored fields, whatever its reason sentence says", async () => {
    const p = await prepare([
      { stock: 5, quantity: 1 },
      { stock: 2, quantity: 3 },
    ]);
    const saga = sagaDeps(deps);
    const short = p.lines[1]?.productId;
    const first = await runCheckout(p.job, saga);
    expect(first).toEqual({ outcome: "out_of_stock", orderId: p.job.orderId, productId: short, available: 2 });
    // The answer must not depend on the wording of the reason (it used to be parsed back out of it).
    await env.db("orders").where({ order_id: p.job.orderId }).update({ failure_reason: "reworded" });
    expect(await runCheckout(p.job, saga)).toEqual(first);
    expect((await snapshot(p)).redis).toEqual(stockUntouched(p));
  });

  it("two deliveries of the same job at once (a stalled job re-delivered) still sell once", async () => {
    const p = await prepare([
      { stock: 5, quantity: 2, priceCents: 400 },
      { stock: 5, quantity: 1, priceCents: 50 },
    ]);
    const saga = sagaDeps(deps);
    const expected = { outcome: "completed", orderId: p.job.orderId, totalCents: p.totalCents };
    const settled = await Promise.allSettled([runCheckout(p.job, saga), runCheckout(p.job, saga)]);
    // A delivery may throw (BullMQ then delivers it again), but none may end the order otherwise.
    const answers = settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
    expect(answers.length).toBeGreaterThanOrEqual(1);
    for (const answer of answers) expect(answer).toEqual(expected);
    expect(await runCheckout(p.job, saga)).toEqual(expected); // the retry of a delivery that threw
    const after = await snapshot(p);
    expect(after.redis).toEqual(stockAfterSale(p));
    expect(after.reservePurchase).toEqual(cartOf(p));
    expect(after.payments).toEqual([{ status: "succeeded", attempts: 1, amount_cents: p.totalCents }]);
    await assertConservation(env, p.initial);
  });

  it("re-delivering a completed and flushed job changes nothing", async () => {
    const p = await prepare([{ stock: 4, quantity: 4, priceCents: 250 }]);
    const saga = sagaDeps(deps);
    await flushReservations(env.db, 1000); // anything an earlier test left
    expect((await runCheckout(p.job, saga)).outcome).toBe("completed");
    expect(await flushReservations(env.db, 1000)).toEqual({ rows: 1, units: 4, refused: [] });
    const before = await snapshot(p);
    expect(before.mysql).toEqual({ [p.lines[0]?.productId ?? ""]: 0 });
    expect(before.reservePurchase).toEqual([]);

    expect(await runCheckout(p.job, saga)).toEqual({
      outcome: "completed",
      orderId: p.job.orderId,
      totalCents: p.totalCents,
    });
    expect(await snapshot(p)).toEqual(before);
    expect(await flushReservations(env.db, 1000)).toEqual({ rows: 0, units: 0, refused: [] });
    expect(await snapshot(p)).toEqual(before);
    await assertConservation(env, p.initial);
  });

  it("re-delivering a finished job after its ended hold was forgotten (HOLD_RETENTION_MS) changes nothing", async () => {
    const completed = await prepare([{ stock: 6, quantity: 2, priceCents: 300 }]);
    const declined = await prepare([{ stock: 6, quantity: 3 }], "tok_decline");
    const saga = sagaDeps(deps);
    expect((await runCheckout(completed.job, saga)).outcome).toBe("completed");
    expect((await runCheckout(declined.job, saga)).outcome).toBe("declined");
    const before = [await snapshot(completed), await snapshot(declined)];
    expect(before.map((s) => s.hold)).toEqual(["committed", "released"]);
    // What the retention's expiry does to an ended hold.
    await env.redis.del(env.keys.hold(completed.job.orderId), env.keys.hold(declined.job.orderId));

    expect((await runCheckout(completed.job, saga)).outcome).toBe("completed");
    expect((await runCheckout(declined.job, saga)).outcome).toBe("declined");
    const after = [await snapshot(completed), await snapshot(declined)];
    expect(after).toEqual(before.map((s) => ({ ...s, hold: null })));
    await assertConservation(env, new Map([...completed.initial, ...declined.initial]));
  });

  it("compensateCheckout on a completed order changes nothing (no refund, no release)", async () => {
    const p = await prepare([{ stock: 6, quantity: 2, priceCents: 999 }]);
    const saga = sagaDeps(deps);
    expect((await runCheckout(p.job, saga)).outcome).toBe("completed");
    const before = await snapshot(p);

    expect(await compensateCheckout(p.job, saga, "a late final failure")).toEqual({
      outcome: "completed",
      orderId: p.job.orderId,
      totalCents: p.totalCents,
    });
    expect(await snapshot(p)).toEqual(before);
    expect(before.payments.map((x) => x.status)).toEqual(["succeeded"]);
    expect(before.hold).toBe("committed");
    await assertConservation(env, p.initial);
  });

  it("the flush applies each decrement once: a second flush applies nothing", async () => {
    const a = await prepare([
      { stock: 20, quantity: 3 },
      { stock: 20, quantity: 4 },
    ]);
    const b = await prepare([{ stock: 20, quantity: 5 }]);
    const saga = sagaDeps(deps);
    await flushReservations(env.db, 1000); // anything an earlier test left
    expect((await runCheckout(a.job, saga)).outcome).toBe("completed");
    expect((await runCheckout(b.job, saga)).outcome).toBe("completed");

    expect(await flushReservations(env.db, 1000)).toEqual({ rows: 3, units: 12, refused: [] });
    const once = [await snapshot(a), await snapshot(b)];
    expect(once[0]?.mysql).toEqual({ [a.lines[0]?.productId ?? ""]: 17, [a.lines[1]?.productId ?? ""]: 16 });
    expect(once[1]?.mysql).toEqual({ [b.lines[0]?.productId ?? ""]: 15 });

    expect(await flushReservations(env.db, 1000)).toEqual({ rows: 0, units: 0, refused: [] });
    expect([await snapshot(a), await snapshot(b)]).toEqual(once);
    await assertConservation(env, new Map([...a.initial, ...b.initial]));
  });
});

describe("the cart after a completed order", () => {
  it("lines the order took whole are gone; a line the client added to meanwhile keeps the difference", async () => {
    const p = await prepare([
      { stock: 10, quantity: 2 },
      { stock: 10, quantity: 1 },
      { stock: 10, quantity: 3 },
    ]);
    const [grown, whole, removed] = p.lines.map((l) => l.productId);
    const saga = sagaDeps(deps);
    const created = await deps.orders.createPending(p.job.orderId, p.job.clientId);
    expect(created.kind).toBe("created");
    // After the snapshot: one line grows, one is removed, one stays as ordered.
    await env.db("client_cart").where({ client_id: p.job.clientId, product_id: grown }).increment("quantity", 4);
    await env.db("client_cart").where({ client_id: p.job.clientId, product_id: removed }).delete();

    expect((await runCheckout(p.job, saga)).outcome).toBe("completed");
    const cart = await env.db("client_cart").where({ client_id: p.job.clientId }).select("product_id", "quantity");
    expect(cart).toEqual([{ product_id: grown, quantity: 4 }]);
    expect(whole).toBeDefined();
    const items = await env.db("order_items").where({ order_id: p.job.orderId }).orderBy("product_id");
    expect(items.map((i: { quantity: number }) => i.quantity).sort()).toEqual([1, 2, 3]);
  });
});

describe("two checkouts of one cart", () => {
  it("a second order of the same cart, created while the first is being created, backs off", async () => {
    // createPending promises: "a second checkout of the same cart waits, then sees the
    // first pending order and backs off". Hold the cart rows so both deliveries are
    // inside createPending, waiting for the lock, when the first one gets it.
    // Two worker processes: each has its own group-commit writer, so the two
    // deliveries are two transactions racing for the cart rows (within one process's
    // batch, the second is refused by the batch itself: the next test).
    const p = await prepare([{ stock: 10, quantity: 2, priceCents: 500 }]);
    const second: CheckoutJob = { ...p.job, orderId: randomUUID() };
    const otherProcess = createWorkerDeps(env.config, createLogger("silent", "replay-test-2"));
    onTestFinished(() => otherProcess.close());
    const gate = await env.db.transaction();
    let runs: Promise<PromiseSettledResult<CheckoutResult>[]>;
    try {
      await gate("client_cart").where({ client_id: p.job.clientId }).forUpdate().select("product_id");
      runs = Promise.allSettled([runCheckout(p.job, sagaDeps(deps)), runCheckout(second, sagaDeps(otherProcess))]);
      await eventually(
        "both deliveries to wait for the cart lock",
        async () => {
          // PROCESSLIST, not INNODB_TRX: MariaDB does not always list a second waiter there.
          // A statement on these rows while the gate holds them is one waiting for the lock.
          const [rows] = (await env.db.raw(
            "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE COMMAND = 'Query' AND ID <> CONNECTION_ID() AND INFO LIKE ?",
            [`%client_cart%${p.job.clientId}%for update%`],
          )) as [Array<{ n: number }>, unknown];
          return Number(rows[0]?.n) === 2 ? true : undefined;
          // Generous: on a loaded CI machine both deliveries can take a while to reach the lock.
        },
        60_000,
      );
    } finally {
      await gate.commit();
    }
    const results = (await runs).map((r) => (r.status === "fulfilled" ? r.value.outcome : `threw: ${r.reason}`));

    const orders = (await env.db("orders").where({ client_id: p.job.clientId })) as Array<{ state: string }>;
    const succeeded = (await env
      .db("payments")
      .whereIn("order_id", [p.job.orderId, second.orderId])
      .where({ status: "succeeded" })) as unknown[];
    expect(
      { completed: orders.filter((o) => o.state === "completed").length, charges: succeeded.length },
      `outcomes ${JSON.stringify(results)}`,
    ).toEqual({ completed: 1, charges: 1 });
    await assertConservation(env, p.initial);
  }, 120_000);
});

describe("two checkouts of one cart in one batch", () => {
  it("the second is refused by the batch that creates the first: one order, one charge", async () => {
    const p = await prepare([{ stock: 10, quantity: 2, priceCents: 500 }]);
    const second: CheckoutJob = { ...p.job, orderId: randomUUID() };
    const saga = sagaDeps(deps);
    // Hold the writer's one connection with another op, so both creations queue into one batch.
    const blocker = deps.orders.createPending(randomUUID(), `c-${uid()}`);
    const results = await Promise.all([runCheckout(p.job, saga), runCheckout(second, saga)]);
    await blocker;
    expect(results.map((r) => r.outcome).sort()).toEqual(["completed", "failed"]);
    const orders = (await env.db("orders").where({ client_id: p.job.clientId })) as Array<{ state: string }>;
    expect(orders.map((o) => o.state)).toEqual(["completed"]);
    await assertConservation(env, p.initial);
  });
});

describe("runCheckout after a crash", () => {
  it("a crash after reserve and beginCommit: the saga completes without reserving twice", async () => {
    const p = await prepare([
      { stock: 8, quantity: 3, priceCents: 100 },
      { stock: 3, quantity: 3, priceCents: 200 },
    ]);
    await crashAfter(p, ["reserve", "beginCommit"]);
    expect((await snapshot(p)).redis).toEqual(stockAfterSale(p));

    expect(await runCheckout(p.job, sagaDeps(deps))).toEqual({
      outcome: "completed",
      orderId: p.job.orderId,
      totalCents: p.totalCents,
    });
    const after = await snapshot(p);
    expect(after.redis).toEqual(stockAfterSale(p));
    expect(after.hold).toBe("committed");
    expect(after.payments).toEqual([{ status: "succeeded", attempts: 1, amount_cents: p.totalCents }]);
    await assertConservation(env, p.initial);
  });

  it("a crash after the charge: the replayed charge is not charged again", async () => {
    const p = await prepare([{ stock: 5, quantity: 1, priceCents: 4200 }]);
    await crashAfter(p, ["reserve", "beginCommit", "charge"]);

    expect((await runCheckout(p.job, sagaDeps(deps))).outcome).toBe("completed");
    const after = await snapshot(p);
    expect(after.payments).toEqual([{ status: "succeeded", attempts: 1, amount_cents: 4200 }]);
    expect(after.redis).toEqual(stockAfterSale(p));
    expect(after.orders).toEqual([{ order_id: p.job.orderId, state: "completed" }]);
    await assertConservation(env, p.initial);
  });

  it("a crash after the MySQL commit, before the Redis commit: the replay commits the hold", async () => {
    const p = await prepare([{ stock: 5, quantity: 2, priceCents: 300 }]);
    await crashAfter(p, ["reserve", "beginCommit", "charge", "complete"]);
    expect((await snapshot(p)).hold).toBe("committing");

    expect((await runCheckout(p.job, sagaDeps(deps))).outcome).toBe("completed");
    const after = await snapshot(p);
    expect(after.hold).toBe("committed");
    expect(after.redis).toEqual(stockAfterSale(p));
    expect(after.reservePurchase).toEqual(cartOf(p));
    await assertConservation(env, p.initial);
  });

  it("an order failed by someone else while it was charged: the saga refunds and releases", async () => {
    const p = await prepare([
      { stock: 4, quantity: 2, priceCents: 150 },
      { stock: 9, quantity: 1, priceCents: 80 },
    ]);
    // The charge goes through; before the saga commits, the order is ended as failed.
    const failingAfterCharge: PaymentProvider = {
      async charge(request: ChargeRequest): Promise<ChargeResult> {
        const result = await deps.payment.charge(request);
        await deps.orders.fail(request.orderId, "checkout_failed", "ended by the final-failure path");
        return result;
      },
      refund: (key) => deps.payment.refund(key),
    };

    const result = await runCheckout(p.job, { ...sagaDeps(deps), payment: failingAfterCharge });
    expect(result).toEqual({ outcome: "failed", orderId: p.job.orderId, reason: "ended by the final-failure path" });
    const after = await snapshot(p);
    expect(after.orders).toEqual([{ order_id: p.job.orderId, state: "failed" }]);
    expect(after.payments).toEqual([{ status: "refunded", attempts: 1, amount_cents: p.totalCents }]);
    expect(after.redis).toEqual(stockUntouched(p));
    expect(after.hold).toBe("released");
    expect(after.reservePurchase).toEqual([]);
    expect(after.cart).toEqual(cartOf(p));
    await assertConservation(env, p.initial);
  });

  it("a re-delivery that finds its order failed under a succeeded charge refunds it and releases", async () => {
    // A delivery charged, the order was failed meanwhile, and the delivery crashed before
    // its refund (saga.ts, the `already_failed` branch). The next delivery must finish that.
    const p = await prepare([{ stock: 3, quantity: 1, priceCents: 700 }]);
    await crashAfter(p, ["reserve", "beginCommit", "charge"]);
    expect(await deps.orders.fail(p.job.orderId, "checkout_failed", "ended while charging")).toBe(true);

    const result = await runCheckout(p.job, sagaDeps(deps));
    expect(result.outcome).not.toBe("completed");
    const after = await snapshot(p);
    expect(after.redis).toEqual(stockUntouched(p));
    expect(after.hold).toBe("released");
    expect(after.payments).toEqual([{ status: "refunded", attempts: 1, amount_cents: 700 }]);
    await assertConservation(env, p.initial);
  });
});

/** A payment network that is down for charges; refunds optionally fail too. */
class DownProvider implements PaymentProvider {
  charges = 0;
  refunds = 0;
  constructor(private readonly refundsFail: boolean) {}
  async charge(request: ChargeRequest): Promise<ChargeResult> {
    this.charges++;
    throw new TransientPaymentError(`payment network unreachable for ${request.orderId}`);
  }
  async refund(_idempotencyKey: string): Promise<void> {
    this.refunds++;
    if (this.refundsFail) throw new TransientPaymentError("payment network unreachable for refunds");
  }
}

describe("final failure: attempts exhausted (JOB_ATTEMPTS=2, in-process workers)", () => {
  async function runFinalFailure(provider: DownProvider) {
    const p = await prepare([
      { stock: 6, quantity: 2, priceCents: 310 },
      { stock: 2, quantity: 2, priceCents: 40 },
    ]);
    const workers = await startInProcessWorkers(env, { JOB_ATTEMPTS: 2 }, { payment: provider });
    const api = await startApi(env, { JOB_ATTEMPTS: 2 });
    try {
      const res = await postJson(`${api.url}/checkOutCart`, { clientID: p.job.clientId, paymentToken: "tok_ok" });
      const orders = await eventually(
        "the order to leave pending",
        async () => {
          const rows = (await env.db("orders").where({ client_id: p.job.clientId })) as Array<{
            order_id: string;
            state: string;
            failure_code: string | null;
            failure_reason: string | null;
          }>;
          return rows.length === 1 && rows[0]?.state !== "pending" ? rows : undefined;
        },
        10_000,
      ).catch((err: unknown) => {
        throw new Error(`${String(err)}; API answered ${res.status} ${JSON.stringify(res.body)}`);
      });
      return { p, res, orders };
    } finally {
      await api.close();
      await workers.close();
    }
  }

  it("ends the order failed with a reason, releases the hold, answers not 200", async () => {
    const provider = new DownProvider(false);
    const { p, res, orders } = await runFinalFailure(provider);
    expect(res.status, JSON.stringify(res.body)).not.toBe(200);
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ status: "Failed", state: "failed" });
    expect(res.body.error).toMatch(/checkout failed after 2 attempts: payment network unreachable/);
    expect(provider.charges).toBe(2);

    const [order] = orders;
    expect(order).toMatchObject({ state: "failed", failure_code: "checkout_failed" });
    expect(order?.failure_reason).toMatch(/after 2 attempts/);
    const after = await snapshot({ ...p, job: { ...p.job, orderId: order?.order_id ?? "" } });
    expect(after.redis).toEqual(stockUntouched(p));
    expect(after.hold).toBe("released");
    expect(after.cart).toEqual(cartOf(p));
    await assertConservation(env, p.initial);
  });

  it("ends the order failed even when refunds fail too (the payment network is down entirely)", async () => {
    const provider = new DownProvider(true);
    const { p, res, orders } = await runFinalFailure(provider);
    expect(res.status, JSON.stringify(res.body)).not.toBe(200);
    expect(orders[0]).toMatchObject({ state: "failed" });
    expect((await snapshot({ ...p, job: { ...p.job, orderId: orders[0]?.order_id ?? "" } })).redis).toEqual(
      stockUntouched(p),
    );
    await assertConservation(env, p.initial);
  });
});
