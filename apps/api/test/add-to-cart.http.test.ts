/**
 * POST /addToCart over HTTP, through the real BullMQ queue and a cart worker in this
 * process, against the real Redis and MariaDB: what a valid add answers and stores (200,
 * the cart quantity and the available stock), and its business outcomes (404 for an
 * unknown product, 409 past the live stock), which store nothing.
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { add, cartRows, expectFailure, operationCount, product, uid } from "./support/add-to-cart-calls";
import { api, env, setUpAddToCart } from "./support/add-to-cart-system";

setUpAddToCart();
// ---------------------------------------------------------------- success

describe("POST /addToCart: success", () => {
  it("answers 200 Success with the cart quantity and the available stock, and stores the row", async () => {
    const productID = await product(10);
    const clientID = uid("c");

    const res = await add(api.url, { clientID, productID, quantity: 3 });

    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(res.body).toEqual({ status: "Success", error: "", quantityInCart: 3, available: 10 });
    expect(await cartRows(clientID)).toEqual([{ product_id: productID, quantity: 3 }]);
    // Adding to a cart holds nothing: the stock a shopper can still buy is unchanged.
    expect(await env.redis.get(env.keys.stock(productID))).toBe("10");
  });

  it("adds a second add to the quantity already in the cart, as the original service did", async () => {
    const productID = await product(10);
    const clientID = uid("c");

    const first = await add(api.url, { clientID, productID, quantity: 2 });
    const second = await add(api.url, { clientID, productID, quantity: 5 });

    expect(first.body).toEqual({ status: "Success", error: "", quantityInCart: 2, available: 10 });
    expect(second.status).toBe(200);
    expect(second.body).toEqual({ status: "Success", error: "", quantityInCart: 7, available: 10 });
    expect(await cartRows(clientID)).toEqual([{ product_id: productID, quantity: 7 }]);
    expect(await operationCount(clientID)).toBe(2);
  });

  it("keeps one row per product in a client's cart and leaves other clients' carts alone", async () => {
    const a = await product(10);
    const b = await product(10);
    const clientID = uid("c");
    const other = uid("c");

    expect((await add(api.url, { clientID, productID: a, quantity: 1 })).status).toBe(200);
    expect((await add(api.url, { clientID, productID: b, quantity: 4 })).status).toBe(200);
    expect((await add(api.url, { clientID: other, productID: a, quantity: 9 })).status).toBe(200);

    expect(await cartRows(clientID)).toEqual(
      [
        { product_id: a, quantity: 1 },
        { product_id: b, quantity: 4 },
      ].sort((x, y) => x.product_id.localeCompare(y.product_id)),
    );
    expect(await cartRows(other)).toEqual([{ product_id: a, quantity: 9 }]);
  });

  it("fills the cart up to exactly the available stock", async () => {
    const productID = await product(4);
    const clientID = uid("c");

    const res = await add(api.url, { clientID, productID, quantity: 4 });

    expect(res.body).toEqual({ status: "Success", error: "", quantityInCart: 4, available: 4 });
    expect(await cartRows(clientID)).toEqual([{ product_id: productID, quantity: 4 }]);
  });
});

// ---------------------------------------------------------------- 404 / 409

describe("POST /addToCart: business outcomes", () => {
  it("answers 404 for an unknown product, naming it, and stores nothing", async () => {
    const productID = uid("missing");
    const clientID = uid("c");

    const res = await add(api.url, { clientID, productID, quantity: 1 });

    expectFailure(res, 404, new RegExp(`unknown product ${productID}`));
    expect(res.body.productID).toBe(productID);
    expect(await cartRows(clientID)).toEqual([]);
    expect(await operationCount(clientID)).toBe(0);
  });

  it("answers 409 when one add exceeds the available stock, and stores nothing", async () => {
    const productID = await product(5);
    const clientID = uid("c");

    const res = await add(api.url, { clientID, productID, quantity: 6 });

    expectFailure(res, 409, new RegExp(`not enough stock of ${productID}`));
    expect(res.body).toMatchObject({ productID, available: 5 });
    expect(await cartRows(clientID)).toEqual([]);
  });

  it("answers 409 when the cart total would exceed the stock, leaving the cart as it was", async () => {
    const productID = await product(5);
    const clientID = uid("c");
    expect((await add(api.url, { clientID, productID, quantity: 3 })).body.quantityInCart).toBe(3);

    const res = await add(api.url, { clientID, productID, quantity: 3 });

    expectFailure(res, 409, /5 available, the cart would hold 6/);
    expect(res.body).toMatchObject({ productID, available: 5 });
    expect(await cartRows(clientID)).toEqual([{ product_id: productID, quantity: 3 }]);
    expect(await operationCount(clientID)).toBe(1);

    // What still fits is accepted.
    const fits = await add(api.url, { clientID, productID, quantity: 2 });
    expect(fits.body).toEqual({ status: "Success", error: "", quantityInCart: 5, available: 5 });
  });

  it("measures the cart against live stock: units held by a checkout are not available", async () => {
    const productID = await product(5);
    const clientID = uid("c");
    const hold = await api.deps.engine.reserve(randomUUID(), [{ productId: productID, quantity: 4 }], 60_000);
    expect(hold).toEqual({ ok: true, replayed: false });

    const res = await add(api.url, { clientID, productID, quantity: 2 });

    expectFailure(res, 409, /1 available/);
    expect(res.body.available).toBe(1);
    expect(await cartRows(clientID)).toEqual([]);
  });
});
