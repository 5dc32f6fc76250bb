/**
 * Checkout through HTTP when stock runs short or the cart is empty (see
 * fixtures/checkout-http.ts): 409 naming the product whether the API or the saga finds it
 * short, nothing reserved; an empty cart is a 400 and no order, or an accepted order that
 * ends failed; the sold-out answers are counted, and a keyed retry gets its order.
 */
import { describe, expect, it } from "vitest";
import { keyedOrderId } from "../../api/src/handlers/order-id";
import { insertProducts } from "../../../test/support/env";
import { assertConservation, eventually, flushAll } from "../../../test/support/invariants";
import { addToCart, cart, checkout, order } from "./fixtures/checkout-calls";
import { api, env, setUpCheckout, uid } from "./fixtures/checkout-http";
import { ordersOfClient, paymentsOf, redisStock } from "./fixtures/checkout-rows";

setUpCheckout();
describe("POST /checkOutCart over HTTP", () => {
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
    await expectCartKeptAndStockConserved(client, plenty, scarce);
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
    await expectCartKeptAndStockConserved(client, plenty, scarce);
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
});

/** A refused checkout leaves the cart (2 of plenty, 3 of scarce) as it was and conserves stock (10 and 1). */
async function expectCartKeptAndStockConserved(client: string, plenty: string, scarce: string): Promise<void> {
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
}
