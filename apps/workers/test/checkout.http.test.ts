/**
 * Checkout through HTTP: the real API on an ephemeral port, BullMQ workers in this
 * process, the real Redis and MariaDB. Each test uses its own clients and products.
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { keyedOrderId } from "../../api/src/handlers/order-id";
import { insertProducts, type TestEnv } from "../../../test/support/env";
import { getJson, postJson, startApi, type InProcessWorkers, type RunningApi } from "../../../test/support/system";
import {
  assertConservation,
  eventually,
  flushAll,
  sleep,
  unfinishedCheckoutJobs,
} from "../../../test/support/invariants";
import { useSystem } from "../../../test/support/fixture";

interface OrderView {
  orderId: string;
  clientID: string;
  state: string;
  totalCents: number;
  paymentRef: string | null;
  failureCode: string | null;
  failureReason: string | null;
  items?: Array<{ productID: string; quantity: number; unitPriceCents: number }>;
}

interface CartView {
  clientID: string;
  items: Array<{ productID: string; quantity: number; unitPriceCents: number; available: number }>;
  totalCents: number;
}

interface PaymentRow {
  idempotency_key: string;
  order_id: string;
  amount_cents: number;
  status: string;
  attempts: number;
  provider_ref: string | null;
}

let env: TestEnv;
let api: RunningApi;
let workers: InProcessWorkers;

const uid = () => randomUUID().slice(0, 8);

useSystem(
  {
    PAYMENT_SIM_TRANSIENT_FAILURES: "2",
    JOB_BACKOFF_MS: "20",
    CHECKOUT_TIMEOUT_MS: "15000",
  },
  (system) => ({ env, api, workers } = system),
);

async function addToCart(clientID: string, productID: string, quantity: number): Promise<void> {
  const res = await postJson(`${api.url}/addToCart`, { clientID, productID, quantity });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
}

function checkout(clientID: string, paymentToken = "tok_ok", headers: Record<string, string> = {}) {
  return postJson(`${api.url}/checkOutCart`, { clientID, paymentToken }, headers);
}

async function cart(clientID: string): Promise<CartView> {
  const res = await getJson<CartView & { status: string }>(`${api.url}/cart/${clientID}`);
  expect(res.status).toBe(200);
  return res.body;
}

async function order(orderId: string): Promise<OrderView> {
  const res = await getJson<{ status: string; order: OrderView }>(`${api.url}/orders/${orderId}`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.order;
}

async function paymentsOf(orderId: string): Promise<PaymentRow[]> {
  return (await env.db("payments").where({ order_id: orderId })) as PaymentRow[];
}

async function mysqlQuantity(productId: string): Promise<number> {
  const row = (await env.db("product_details").where({ product_id: productId }).first("quantity")) as
    { quantity: number } | undefined;
  if (!row) throw new Error(`no product ${productId}`);
  return Number(row.quantity);
}

async function redisStock(productId: string): Promise<number | null> {
  const v = await env.redis.get(env.keys.stock(productId));
  return v === null ? null : Number(v);
}

async function ordersOfClient(clientId: string): Promise<Array<{ order_id: string; state: string }>> {
  return (await env.db("orders").where({ client_id: clientId }).select("order_id", "state")) as Array<{
    order_id: string;
    state: string;
  }>;
}

describe("POST /checkOutCart over HTTP", () => {
  it("completes a cart: 200, order with items and total, cart emptied, stock reduced, one charge", async () => {
    const client = `c-${uid()}`;
    const a = `p-${uid()}`;
    const b = `p-${uid()}`;
    await insertProducts(env.db, [
      { id: a, quantity: 10, priceCents: 250 },
      { id: b, quantity: 4, priceCents: 1999 },
    ]);
    await addToCart(client, a, 3);
    await addToCart(client, b, 1);
    await addToCart(client, a, 1); // the cart adds up: 4 of a

    const res = await checkout(client);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const totalCents = 4 * 250 + 1999;
    expect(res.body).toEqual({
      status: "Success",
      error: "",
      orderId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      state: "completed",
      totalCents,
    });
    const orderId = String(res.body.orderId);

    expect((await cart(client)).items).toEqual([]);
    expect(await env.db("client_cart").where({ client_id: client })).toEqual([]);

    const view = await order(orderId);
    expect(view).toMatchObject({ orderId, clientID: client, state: "completed", totalCents, failureCode: null });
    expect(view.paymentRef).toMatch(/^sim_/);
    expect(view.items).toEqual(
      [
        { productID: a, quantity: 4, unitPriceCents: 250 },
        { productID: b, quantity: 1, unitPriceCents: 1999 },
      ].sort((x, y) => x.productID.localeCompare(y.productID)),
    );

    const listed = await getJson<{ status: string; orders: OrderView[] }>(`${api.url}/clients/${client}/orders`);
    expect(listed.status).toBe(200);
    expect(listed.body.orders.map((o) => [o.orderId, o.state, o.totalCents])).toEqual([
      [orderId, "completed", totalCents],
    ]);

    await flushAll(env);
    expect(await mysqlQuantity(a)).toBe(6);
    expect(await mysqlQuantity(b)).toBe(3);
    expect(await redisStock(a)).toBe(6);
    expect(await redisStock(b)).toBe(3);

    const payments = await paymentsOf(orderId);
    expect(payments).toHaveLength(1);
    expect(payments[0]).toMatchObject({
      idempotency_key: orderId,
      status: "succeeded",
      amount_cents: totalCents,
      attempts: 1,
      provider_ref: view.paymentRef,
    });

    await assertConservation(
      env,
      new Map([
        [a, 10],
        [b, 4],
      ]),
    );
  });

  it("declines (tok_decline): 402, order failed with its reason, stock back, no charge, cart kept", async () => {
    const client = `c-${uid()}`;
    const p = `p-${uid()}`;
    await insertProducts(env.db, [{ id: p, quantity: 5, priceCents: 700 }]);
    await addToCart(client, p, 2);

    const res = await checkout(client, "tok_decline");
    expect(res.status, JSON.stringify(res.body)).toBe(402);
    expect(res.body).toMatchObject({
      status: "Failed",
      error: "payment declined: card declined",
      state: "failed",
      orderId: expect.any(String),
    });
    const orderId = String(res.body.orderId);

    const view = await order(orderId);
    expect(view).toMatchObject({
      state: "failed",
      failureCode: "payment_declined",
      failureReason: "payment declined: card declined",
      paymentRef: null,
    });
    expect(await redisStock(p)).toBe(5);
    expect(await mysqlQuantity(p)).toBe(5);
    const payments = await paymentsOf(orderId);
    expect(payments.map((x) => x.status)).toEqual(["declined"]);
    expect((await cart(client)).items.map((i) => [i.productID, i.quantity])).toEqual([[p, 2]]);
    expect((await workers.deps.engine.hold(orderId))?.state).toBe("released");

    await assertConservation(env, new Map([[p, 5]]));
  });

  it("heals transient payment errors (tok_error fails twice): completes with one charge after 3 attempts", async () => {
    const client = `c-${uid()}`;
    const p = `p-${uid()}`;
    await insertProducts(env.db, [{ id: p, quantity: 3, priceCents: 1500 }]);
    await addToCart(client, p, 2);

    const res = await checkout(client, "tok_error");
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ status: "Success", state: "completed", totalCents: 3000 });
    const orderId = String(res.body.orderId);

    const payments = await paymentsOf(orderId);
    expect(payments).toHaveLength(1);
    expect(payments[0]).toMatchObject({ status: "succeeded", attempts: 3, amount_cents: 3000 });
    expect((await order(orderId)).state).toBe("completed");

    await flushAll(env);
    expect(await mysqlQuantity(p)).toBe(1);
    await assertConservation(env, new Map([[p, 3]]));
  });

  it("turns away a cart whose product ran short (cached level): 409 naming it, no order, nothing reserved", async () => {
    const client = `c-${uid()}`;
    const plenty = `p-${uid()}`;
    const scarce = `p-${uid()}`;
    await insertProducts(env.db, [
      { id: plenty, quantity: 10 },
      { id: scarce, quantity: 5 },
    ]);
    await addToCart(client, plenty, 2);
    await addToCart(client, scarce, 3);
    // Stock taken elsewhere (a stock correction): MySQL first, then the cached level.
    await env.db("product_details").where({ product_id: scarce }).update({ quantity: 1 });
    expect(await api.deps.engine.adjustCachedLevel(scarce, -4)).toBe(1);

    const res = await checkout(client);
    expect(res.status, JSON.stringify(res.body)).toBe(409);
    expect(res.body).toMatchObject({
      status: "Failed",
      error: expect.stringContaining(`not enough stock of ${scarce}`),
      productID: scarce,
      available: 1,
      state: "failed",
    });

    expect(await redisStock(plenty)).toBe(10);
    expect(await redisStock(scarce)).toBe(1);
    expect(await ordersOfClient(client)).toEqual([]);
    expect((await cart(client)).items.map((i) => [i.productID, i.quantity])).toEqual(
      [
        [plenty, 2],
        [scarce, 3],
      ].sort((x, y) => String(x[0]).localeCompare(String(y[0]))),
    );
    await assertConservation(
      env,
      new Map([
        [plenty, 10],
        [scarce, 1],
      ]),
    );
  });

  it("rejects in the saga a cart whose product ran short (cache not warm): 409, order failed, nothing reserved", async () => {
    const client = `c-${uid()}`;
    const plenty = `p-${uid()}`;
    const scarce = `p-${uid()}`;
    await insertProducts(env.db, [
      { id: plenty, quantity: 10 },
      { id: scarce, quantity: 5 },
    ]);
    // The cart straight in MySQL: no stock level is cached yet, and the API has no copy of the cart.
    await env.db("client_cart").insert([
      { client_id: client, product_id: plenty, quantity: 2 },
      { client_id: client, product_id: scarce, quantity: 3 },
    ]);
    await env.db("product_details").where({ product_id: scarce }).update({ quantity: 1 });
    expect(await redisStock(plenty)).toBeNull();
    expect(await redisStock(scarce)).toBeNull();

    const res = await checkout(client);
    expect(res.status, JSON.stringify(res.body)).toBe(409);
    expect(res.body).toMatchObject({
      status: "Failed",
      error: expect.stringContaining(`not enough stock of ${scarce}`),
      productID: scarce,
      available: 1,
      state: "failed",
      orderId: expect.any(String),
    });
    const orderId = String(res.body.orderId);

    // Shards reserve in a fixed order and stop at the one that refused: a shard after it
    // was never asked, so its level is still uncached; one before it gave its part back.
    const [plentyShard, scarceShard] = [env.keys.shardOf(plenty), env.keys.shardOf(scarce)];
    expect(await redisStock(plenty)).toBe(plentyShard > scarceShard ? null : 10);
    expect(await redisStock(scarce)).toBe(1);
    for (const shard of env.keys.shards)
      expect(await env.redis.hget(env.keys.hold(orderId, shard), "state")).toBe(
        shard === plentyShard && plentyShard < scarceShard ? "released" : null,
      );
    expect(await paymentsOf(orderId)).toEqual([]);
    expect(await order(orderId)).toMatchObject({ state: "failed", failureCode: "out_of_stock" });
    expect((await cart(client)).items.map((i) => [i.productID, i.quantity])).toEqual(
      [
        [plenty, 2],
        [scarce, 3],
      ].sort((x, y) => String(x[0]).localeCompare(String(y[0]))),
    );
    await assertConservation(
      env,
      new Map([
        [plenty, 10],
        [scarce, 1],
      ]),
    );
  });

  it("answers 400 for an empty cart and writes nothing: a refused request is no order (review finding 9)", async () => {
    const client = `c-${uid()}`;
    for (let i = 0; i < 5; i++) {
      const res = await checkout(client);
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expect(res.body).toEqual({ status: "Failed", error: "the cart is empty", code: "EMPTY_CART" });
    }
    expect(await ordersOfClient(client)).toEqual([]);
    // The client is not left locked out: a later checkout is not joined to the empty one.
    expect(await env.redis.exists(env.keys.checkoutLock(client))).toBe(0);
  });

  it("ends an accepted (202) checkout of an empty cart as failed: an order id a client holds always ends", async () => {
    const client = `c-${uid()}`;
    const res = await checkout(client, "tok_ok", { prefer: "respond-async" });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const orderId = String(res.body.orderId);
    const ended = await eventually("the accepted order to end", async () => {
      const view = await order(orderId);
      return view.state === "pending" ? undefined : view;
    });
    expect(ended).toMatchObject({ state: "failed", failureCode: "empty_cart" });
    expect(await env.db("order_items").where({ order_id: orderId })).toEqual([]);
    expect(await paymentsOf(orderId)).toEqual([]);
    // The worker ends the order in MySQL, then frees the lock (on a Cluster, maybe on
    // another node): the lock goes soon after the order ends, not with it.
    await eventually("the checkout lock to be freed", async () =>
      (await env.redis.exists(env.keys.checkoutLock(client))) === 0 ? true : undefined,
    );
  });

  it("records an accepted (202) checkout before its job can run: a worker quicker than the API's insert still ends it for its own reason", async () => {
    // The API's placeholder insert stalls (a slow MySQL, a lock). When the job was
    // queued first, the worker found no order and an empty cart and ended the job without
    // an order; the insert then left a pending order no job would finish, ended by the
    // orphan sweep much later as a generic "checkout_failed" (seen on a loaded machine).
    const client = `c-${uid()}`;
    const idempotencyKey = `k-${uid()}`;
    // A gap lock on the order id the API will insert holds its insert back for 1.5 s.
    const blocker = await env.db.transaction(undefined, { isolationLevel: "repeatable read" });
    await blocker.raw("SELECT order_id FROM orders WHERE order_id = ? FOR UPDATE", [
      keyedOrderId(api.deps.orderIdKey, client, idempotencyKey),
    ]);
    const answer = checkout(client, "tok_ok", { prefer: "respond-async", "idempotency-key": idempotencyKey });
    await sleep(1_500);
    await blocker.rollback();
    const res = await answer;
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const orderId = String(res.body.orderId);
    const ended = await eventually(
      "the accepted order to end",
      async () => {
        const view = await order(orderId);
        return view.state === "pending" ? undefined : view;
      },
      5_000,
    );
    expect(ended).toMatchObject({ state: "failed", failureCode: "empty_cart" });
  });

  it("joins a double submit: one order, both answers carry its id, one charge", async () => {
    const client = `c-${uid()}`;
    const p = `p-${uid()}`;
    await insertProducts(env.db, [{ id: p, quantity: 10, priceCents: 300 }]);
    await addToCart(client, p, 2);

    const [first, second] = await Promise.all([checkout(client), checkout(client)]);
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(second.status, JSON.stringify(second.body)).toBe(200);
    expect(second.body.orderId).toBe(first.body.orderId);
    expect(second.body.totalCents).toBe(600);

    const orders = await ordersOfClient(client);
    expect(orders).toEqual([{ order_id: first.body.orderId, state: "completed" }]);
    expect((await paymentsOf(String(first.body.orderId))).filter((x) => x.status === "succeeded")).toHaveLength(1);

    await flushAll(env);
    expect(await mysqlQuantity(p)).toBe(8);
    await assertConservation(env, new Map([[p, 10]]));
  });

  it("counts the sold-out answers the API gives itself in oms_checkout_outcomes", async () => {
    const [winner, loser] = [`c-${uid()}`, `c-${uid()}`];
    const p = `p-${uid()}`;
    await insertProducts(env.db, [{ id: p, quantity: 1, priceCents: 700 }]);
    await addToCart(loser, p, 1);
    await addToCart(winner, p, 1);
    expect((await checkout(winner)).status).toBe(200);
    const outOfStock = async () => {
      const text = await (await fetch(`${api.url}/metrics`)).text();
      return Number(/^oms_checkout_outcomes\{outcome="out_of_stock"[^}]*\} (\d+)/m.exec(text)?.[1] ?? 0);
    };
    const before = await outOfStock();
    const refused = await checkout(loser);
    expect(refused.status, JSON.stringify(refused.body)).toBe(409);
    expect(refused.body.orderId).toBeUndefined(); // answered by the API itself: no order, no job
    expect(await outOfStock()).toBe(before + 1);
  });

  it("a keyed retry whose first attempt took the last unit gets its order, not the sold-out answer", async () => {
    // The chaos suite's case: the first attempt was answered 503 (MySQL cut), its job
    // had reserved the last unit and the checkout lock was gone (Redis restarted).
    const client = `c-${uid()}`;
    const p = `p-${uid()}`;
    const key = `k-${uid()}`;
    await insertProducts(env.db, [{ id: p, quantity: 1, priceCents: 700 }]);
    await addToCart(client, p, 1);
    const orderId = keyedOrderId(api.deps.orderIdKey, client, key);
    expect(await api.deps.engine.reserve(orderId, [{ productId: p, quantity: 1 }], 60_000)).toMatchObject({ ok: true });
    expect(await redisStock(p)).toBe(0);

    const res = await checkout(client, "tok_ok", { "Idempotency-Key": key });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ orderId, state: "completed", totalCents: 700 });
    expect(await ordersOfClient(client)).toEqual([{ order_id: orderId, state: "completed" }]);
    expect((await paymentsOf(orderId)).filter((x) => x.status === "succeeded")).toHaveLength(1);
    await flushAll(env);
    await assertConservation(env, new Map([[p, 1]]));
  });

  it("answers 202 at once with `Prefer: respond-async`; the order completes later", async () => {
    const client = `c-${uid()}`;
    const p = `p-${uid()}`;
    await insertProducts(env.db, [{ id: p, quantity: 2, priceCents: 900 }]);
    await addToCart(client, p, 1);

    // With the checkout worker paused nothing can finish: the 202 cannot have waited for it.
    const checkoutWorker = workers.running.workers.find((w) => w.name === "checkout");
    if (!checkoutWorker) throw new Error("no checkout worker");
    await checkoutWorker.pause();
    let orderId: string;
    try {
      const res = await checkout(client, "tok_ok", { Prefer: "respond-async" });
      expect(res.status, JSON.stringify(res.body)).toBe(202);
      expect(res.body).toMatchObject({ status: "Pending", state: "pending" });
      orderId = String(res.body.orderId);
      expect(res.headers.get("location")).toBe(`/orders/${orderId}`);
      expect(await order(orderId)).toMatchObject({ orderId, state: "pending" });
    } finally {
      await checkoutWorker.resume();
    }

    const location = `${api.url}/orders/${orderId}`;
    const done = await eventually("the async order to complete", async () => {
      const res = await getJson<{ status: string; order: OrderView }>(location);
      return res.status === 200 && res.body.order.state !== "pending" ? res.body.order : undefined;
    });
    expect(done).toMatchObject({ orderId, state: "completed", totalCents: 900 });
    expect(done.items).toEqual([{ productID: p, quantity: 1, unitPriceCents: 900 }]);
    await assertConservation(env, new Map([[p, 2]]));
  });

  it("does not sell a cart twice when it is resubmitted after the client's checkout lock expired", async () => {
    // Workers busy (paused here) for longer than CHECKOUT_LOCK_TTL_MS: the shopper got a 202,
    // waited, and submitted again. Both checkouts of the one cart then run side by side.
    const shortLock = await startApi(env, { CHECKOUT_LOCK_TTL_MS: 1_000 });
    const client = `c-${uid()}`;
    const p = `p-${uid()}`;
    await insertProducts(env.db, [{ id: p, quantity: 10, priceCents: 1234 }]);
    await addToCart(client, p, 2);

    const checkoutWorker = workers.running.workers.find((w) => w.name === "checkout");
    if (!checkoutWorker) throw new Error("no checkout worker");
    await checkoutWorker.pause();
    let ids: string[];
    try {
      const submit = () => postJson(`${shortLock.url}/checkOutCart`, { clientID: client }, { Prefer: "respond-async" });
      const first = await submit();
      await eventually("the checkout lock to expire", async () =>
        (await env.redis.exists(env.keys.checkoutLock(client))) === 0 ? true : undefined,
      );
      const second = await submit();
      expect([first.status, second.status]).toEqual([202, 202]);
      ids = [String(first.body.orderId), String(second.body.orderId)];
      expect(ids[1]).not.toBe(ids[0]); // the lock had expired: a second order id
    } finally {
      await checkoutWorker.resume();
      await shortLock.close();
    }

    const ended = await eventually("both checkouts to end", async () => {
      if ((await unfinishedCheckoutJobs(env)) !== 0) return undefined;
      const rows = await ordersOfClient(client);
      return rows.length >= 1 && rows.every((r) => r.state !== "pending") ? rows : undefined;
    });
    const succeeded = (await env.db("payments").whereIn("order_id", ids).where({ status: "succeeded" })) as unknown[];
    expect(
      { completed: ended.filter((o) => o.state === "completed").length, charges: succeeded.length },
      `orders ${JSON.stringify(ended)}`,
    ).toEqual({ completed: 1, charges: 1 });
    await flushAll(env);
    expect(await mysqlQuantity(p)).toBe(8);
    await assertConservation(env, new Map([[p, 10]]));
  });

  it("answers 400 for bad input and enqueues nothing", async () => {
    const before = await env.db("orders").count({ n: "*" }).first();

    const missing = await postJson(`${api.url}/checkOutCart`, { paymentToken: "tok_ok" });
    expect(missing.status).toBe(400);
    expect(missing.body).toEqual({ status: "Failed", error: "clientID is required", code: "INVALID_INPUT" });

    const spaced = await checkout(`c-${uid()}`, "tok ok");
    expect(spaced.status).toBe(400);
    expect(spaced.body.status).toBe("Failed");
    expect(spaced.body.error).toMatch(/^paymentToken: /);

    const notObject = await postJson(`${api.url}/checkOutCart`, "[1]");
    expect(notObject.status).toBe(400);

    expect(await env.db("orders").count({ n: "*" }).first()).toEqual(before);
  });
});
