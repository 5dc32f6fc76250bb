/**
 * POST /addToCart refusing what it cannot take, over HTTP: 400 for invalid input, naming
 * every wrong field (and not calling a field of the wrong type missing), 413 for a body
 * past MAX_BODY_BYTES, 415 for a body that is not JSON in UTF-8; nothing is stored.
 */
import { describe, expect, it } from "vitest";
import { add, cartRows, expectFailure, operationCount, postRaw, product, uid } from "./support/add-to-cart-calls";
import { api, env, setUpAddToCart } from "./support/add-to-cart-system";

setUpAddToCart();
// ---------------------------------------------------------------- 400

describe("POST /addToCart: 400 for invalid input, naming the field", () => {
  const valid = { clientID: "client-1", productID: "product-1", quantity: 1 };
  const cases: Array<[string, unknown, RegExp]> = [
    ["a non-integer quantity (1.5)", { ...valid, quantity: 1.5 }, /quantity.*integer/],
    ["a zero quantity", { ...valid, quantity: 0 }, /quantity.*positive/],
    ["a negative quantity", { ...valid, quantity: -3 }, /quantity.*positive/],
    ["a quantity sent as a string", { ...valid, quantity: "2" }, /quantity/],
    ["a quantity above the maximum", { ...valid, quantity: 1_000_001 }, /quantity.*1000000/],
    ["a missing clientID", { productID: valid.productID, quantity: 1 }, /clientID is required/],
    ["a missing productID", { clientID: valid.clientID, quantity: 1 }, /productID is required/],
    ["a missing quantity", { clientID: valid.clientID, productID: valid.productID }, /quantity is required/],
    ["a clientID longer than 100 characters", { ...valid, clientID: "c".repeat(101) }, /clientID.*100/],
    ["an empty clientID", { ...valid, clientID: "" }, /clientID.*empty/],
    ["an empty productID", { ...valid, productID: "" }, /productID.*empty/],
    ["a blank clientID (only spaces)", { ...valid, clientID: "   " }, /clientID.*empty/],
    ["a clientID with a control character", { ...valid, clientID: "a\u0000b" }, /clientID.*control/],
    ["a numeric productID", { ...valid, productID: 42 }, /productID/],
    ["a JSON array body", [valid], /body.*JSON object/],
    ["a JSON null body", null, /body/],
  ];

  it.each(cases)("rejects %s", async (_name, body, message) => {
    const res = await add(api.url, body);
    expectFailure(res, 400, message);
  });

  it("rejects malformed JSON", async () => {
    const res = await postRaw(api.url, '{"clientID": "c1", "productID": ', "application/json");
    expectFailure(res, 400, /malformed JSON/);
  });

  it("names every invalid field at once", async () => {
    const res = await add(api.url, { clientID: "", quantity: 0 });
    expectFailure(res, 400, /clientID/);
    expect(res.body.error).toMatch(/productID is required/);
    expect(res.body.error).toMatch(/quantity/);
  });

  it("says a quantity of the wrong type is wrong, not that it is missing", async () => {
    const res = await add(api.url, { ...valid, quantity: "2" });
    expectFailure(res, 400, /quantity/);
    // The field is present: telling the client it "is required" sends them looking for the wrong problem.
    expect(res.body.error).not.toMatch(/required/);
    expect(res.body.error).toMatch(/number/);
  });

  it("says a clientID of the wrong type is wrong, not that it is missing", async () => {
    const res = await add(api.url, { ...valid, clientID: 12345 });
    expectFailure(res, 400, /clientID/);
    expect(res.body.error).not.toMatch(/required/);
  });

  it("stores nothing for a rejected request", async () => {
    const productID = await product(10);
    const clientID = uid("c");
    expectFailure(await add(api.url, { clientID, productID, quantity: 0 }), 400, /quantity/);
    expectFailure(await add(api.url, { clientID, productID, quantity: 2.5 }), 400, /quantity/);
    expect(await cartRows(clientID)).toEqual([]);
    expect(await operationCount(clientID)).toBe(0);
  });
});

// ---------------------------------------------------------------- 413 / 415

describe("POST /addToCart: 413 and 415", () => {
  it("answers 415 for a text/plain body", async () => {
    const res = await postRaw(api.url, JSON.stringify({ clientID: "c", productID: "p", quantity: 1 }), "text/plain");
    expectFailure(res, 415, /Content-Type must be application\/json/);
  });

  it("answers 415 for a form-encoded body", async () => {
    const res = await postRaw(api.url, "clientID=c&productID=p&quantity=1", "application/x-www-form-urlencoded");
    expectFailure(res, 415, /Content-Type/);
  });

  it("answers 415 for a JSON body in an unsupported charset", async () => {
    const res = await postRaw(
      api.url,
      JSON.stringify({ clientID: "c", productID: "p", quantity: 1 }),
      "application/json; charset=latin1",
    );
    expectFailure(res, 415, /encoding/);
  });

  it("answers 413 for a body larger than MAX_BODY_BYTES", async () => {
    const clientID = uid("c");
    const body = { clientID, productID: "p", quantity: 1, padding: "x".repeat(env.config.MAX_BODY_BYTES) };
    const res = await add(api.url, body);
    expectFailure(res, 413, /too large/);
    expect(await cartRows(clientID)).toEqual([]);
  });

  it("accepts a body just under MAX_BODY_BYTES (the limit is not off by a lot)", async () => {
    const productID = await product(5);
    const clientID = uid("c");
    const base = JSON.stringify({ clientID, productID, quantity: 1, padding: "" });
    const body = { clientID, productID, quantity: 1, padding: "x".repeat(env.config.MAX_BODY_BYTES - base.length) };
    expect(JSON.stringify(body).length).toBe(env.config.MAX_BODY_BYTES);

    const res = await add(api.url, body);

    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(await cartRows(clientID)).toEqual([{ product_id: productID, quantity: 1 }]);
  });
});
