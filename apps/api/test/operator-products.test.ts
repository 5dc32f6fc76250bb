/**
 * What the admin API does: creates and updates products with the cached level following,
 * restocks ({add}, {set}) without counting live holds as available or setting below the
 * units sold and not yet flushed, refuses bad input, and re-drives a queue's failed jobs.
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ADMIN, call, uid } from "./support/operator-calls";
import { failedCartJob, redrivenJobCompletes } from "./support/operator-jobs";
import { cachedLevel, cartQuantity, product, shownAvailable } from "./support/operator-state";
import { api, env, setUpOperatorSystem } from "./support/operator-system";

setUpOperatorSystem();
// ---------------------------------------------------------------- admin operations

describe("admin products and restock", () => {
  it("creates a product, updates it, and the cached level follows", async () => {
    const productID = uid("p");
    const created = await call(api.url, "POST", "/admin/products", {
      headers: ADMIN,
      body: { productID, productName: "Tea", priceCents: 450, quantity: 12 },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ status: "Success", productID, quantity: 12, available: 12, created: true });
    expect(await env.db("product_details").where({ product_id: productID }).first()).toMatchObject({
      product_name: "Tea",
      price_cents: 450,
      quantity: 12,
    });
    expect(await cachedLevel(productID)).toBe(12);
    expect(await shownAvailable(productID)).toBe(12);

    const updated = await call(api.url, "POST", "/admin/products", {
      headers: ADMIN,
      body: { productID, productName: "Green tea", priceCents: 500, quantity: 20 },
    });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ productID, productName: "Green tea", available: 20, created: false });
    expect(await cachedLevel(productID)).toBe(20);
    const view = await call(api.url, "GET", `/products/${productID}`);
    expect(view.body.product).toMatchObject({ productName: "Green tea", priceCents: 500, quantity: 20, available: 20 });
  });

  it("restocks with {add} and {set}, and the cache keeps live holds out of the available level", async () => {
    const productID = await product(10);
    expect(await shownAvailable(productID)).toBe(10); // loads the cache
    const orderId = randomUUID();
    expect(await api.deps.engine.reserve(orderId, [{ productId: productID, quantity: 3 }], 60_000)).toMatchObject({
      ok: true,
    });
    expect(await cachedLevel(productID)).toBe(7);
    const holds = await call(api.url, "GET", "/admin/holds", { headers: ADMIN });
    expect(holds.body.holds).toContainEqual(
      expect.objectContaining({ orderId, state: "held", lines: [{ productId: productID, quantity: 3 }] }),
    );

    const added = await call(api.url, "POST", `/admin/products/${productID}/restock`, {
      headers: ADMIN,
      body: { add: 5 },
    });
    expect(added.status).toBe(200);
    expect(added.body).toMatchObject({ productID, quantity: 15, change: 5, available: 12 });
    expect(await cachedLevel(productID)).toBe(12);
    expect(await shownAvailable(productID)).toBe(12);

    const set = await call(api.url, "POST", `/admin/products/${productID}/restock`, {
      headers: ADMIN,
      body: { set: 4 },
    });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ quantity: 4, change: -11, available: 1 });
    expect(await cachedLevel(productID)).toBe(1);
    expect(await shownAvailable(productID)).toBe(1);
    const row = (await env.db("product_details").where({ product_id: productID }).first("quantity")) as {
      quantity: number;
    };
    expect(row.quantity).toBe(4);
  });

  it("restocks a product whose level is not cached yet from MySQL's figure", async () => {
    const productID = await product(6);
    expect(await cachedLevel(productID)).toBeNull();
    const res = await call(api.url, "POST", `/admin/products/${productID}/restock`, {
      headers: ADMIN,
      body: { add: 4 },
    });
    expect(res.body).toMatchObject({ quantity: 10, available: 10 });
    expect(await cachedLevel(productID)).toBe(10);
  });

  it("refuses {set} below the units sold and not yet flushed (409), which /admin/flushes lists", async () => {
    const productID = await product(10);
    await env.db("reserve_purchase").insert([
      { reserve_id: randomUUID(), product_id: productID, quantity: 4 },
      { reserve_id: randomUUID(), product_id: productID, quantity: 2 },
    ]);
    expect(await shownAvailable(productID)).toBe(4);
    const flushes = await call(api.url, "GET", "/admin/flushes", { headers: ADMIN });
    expect(flushes.body.products).toContainEqual(expect.objectContaining({ productID, orders: 2, units: 6 }));

    const refused = await call(api.url, "POST", `/admin/products/${productID}/restock`, {
      headers: ADMIN,
      body: { set: 5 },
    });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatch(/below the 6 units/);
    const upsert = await call(api.url, "POST", "/admin/products", {
      headers: ADMIN,
      body: { productID, productName: "x", priceCents: 1, quantity: 5 },
    });
    expect(upsert.status).toBe(409);
    // Neither MySQL nor the cache moved.
    expect(
      ((await env.db("product_details").where({ product_id: productID }).first()) as { quantity: number }).quantity,
    ).toBe(10);
    expect(await cachedLevel(productID)).toBe(4);

    const atOwed = await call(api.url, "POST", `/admin/products/${productID}/restock`, {
      headers: ADMIN,
      body: { set: 6 },
    });
    expect(atOwed.status).toBe(200);
    expect(atOwed.body).toMatchObject({ quantity: 6, available: 0 });
    expect(await cachedLevel(productID)).toBe(0);
  });

  it("answers 400 on bad input, 404 on an unknown product, 415 on a non-JSON body", async () => {
    const productID = await product(3);
    const restock = (body: unknown) =>
      call(api.url, "POST", `/admin/products/${productID}/restock`, { headers: ADMIN, body });
    for (const body of [{}, { add: 1, set: 1 }, { add: 0 }, { add: -2 }, { add: 1.5 }, { add: "3" }, { set: -1 }, []]) {
      const res = await restock(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.status).toBe("Failed");
    }
    const upsert = (body: unknown) => call(api.url, "POST", "/admin/products", { headers: ADMIN, body });
    const good = { productID: uid("p"), productName: "Ok", priceCents: 100, quantity: 1 };
    for (const body of [
      { ...good, productID: "" },
      { ...good, productName: "" },
      { ...good, priceCents: -1 },
      { ...good, priceCents: 1.25 },
      { ...good, quantity: -1 },
      { productID: good.productID },
    ]) {
      const res = await upsert(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
    expect(await env.db("product_details").where({ product_id: good.productID }).first()).toBeUndefined();

    const missing = await call(api.url, "POST", `/admin/products/${uid("nope")}/restock`, {
      headers: ADMIN,
      body: { add: 1 },
    });
    expect(missing.status).toBe(404);
    const notJson = await fetch(`${api.url}/admin/products/${productID}/restock`, {
      method: "POST",
      headers: { ...ADMIN, "content-type": "text/plain" },
      body: "add=1",
    });
    expect(notJson.status).toBe(415);
    expect((await call(api.url, "POST", "/admin/jobs/nosuchqueue/retry-failed", { headers: ADMIN })).status).toBe(404);
  });

  it("re-drives a queue's failed jobs with POST /admin/jobs/:queue/retry-failed", async () => {
    const clientId = uid("c");
    const productId = await product(10);
    const job = await failedCartJob(clientId, productId);
    expect(await cartQuantity(clientId, productId)).toBeUndefined();

    const res = await call(api.url, "POST", "/admin/jobs/cart/retry-failed", { headers: ADMIN });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: "Success", queue: "cart", retried: 1 });
    await redrivenJobCompletes(job);
    expect(await cartQuantity(clientId, productId)).toBe(1);
    expect(await api.deps.queues.cart.getJobCountByTypes("failed")).toBe(0);
  });
});
