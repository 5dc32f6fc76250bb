/**
 * Checkout through HTTP (see fixtures/checkout-http.ts): a cart that completes (200, an
 * order with its items and total, the cart emptied, the stock reduced, one charge), one
 * declined (402, stock back, cart kept), one whose payment fails twice and heals, and bad
 * input (400, nothing enqueued).
 */
import { describe, expect, it } from "vitest";
import { insertProducts } from "../../../test/support/env";
import { getJson, postJson } from "../../../test/support/system";
import { assertConservation, flushAll } from "../../../test/support/invariants";
import { addToCart, cart, checkout, order, type OrderView } from "./fixtures/checkout-calls";
import { api, env, setUpCheckout, uid, workers } from "./fixtures/checkout-http";
import { mysqlQuantity, paymentsOf, redisStock } from "./fixtures/checkout-rows";

setUpCheckout();
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
