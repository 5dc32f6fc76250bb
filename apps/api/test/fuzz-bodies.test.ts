/**
 * Fuzzed request bodies (fast-check): every route gets bodies the JSON parser refuses
 * (malformed, oversized, a charset or content encoding it does not take), and POST
 * /addToCart and /checkOutCart get wrong content types, wrong, missing, duplicated and
 * prototype-pollution fields, JSON of the wrong shape and bad Idempotency-Keys. Each must
 * get a 4xx naming the problem, quickly, and change nothing (see support/fuzz-system.ts).
 */
import fc from "fast-check";
import { describe, it } from "vitest";
import { fieldBodies, jsonHeaders, shapeBodies, wrongContentTypes } from "./support/fuzz-bodies";
import { ADD_TO_CART, CHECKOUT } from "./support/fuzz-routes";
import { AUTH_OK, badIdempotencyKey } from "./support/fuzz-headers";
import { check } from "./support/fuzz-requests";
import { BUYER, P1, RUNS, setUpFuzzSystem } from "./support/fuzz-system";
import { parserBodies } from "./support/fuzz-parser";

setUpFuzzSystem();

describe("fuzz: invalid input gets a 4xx naming the problem, quickly, and changes nothing", () => {
  it("every route: bodies the JSON parser refuses (malformed, oversized, bad charset or encoding)", async () => {
    const routes = fc.constantFrom(
      ["POST", "/addToCart"],
      ["POST", "/checkOutCart"],
      ["GET", `/cart/${BUYER}`],
      ["GET", "/products?limit=5"],
      ["GET", `/products/${P1}`],
      ["GET", "/orders/not-a-uuid"],
      ["GET", `/clients/${BUYER}/orders`],
      ["POST", "/admin/products"],
      ["POST", `/admin/products/${P1}/restock`],
      ["POST", "/admin/jobs/cart/retry-failed"],
      ["POST", "/admin/reconcile"],
      ["POST", "/admin/queues/api/queues/cart/retry/failed"],
      ["PUT", "/nowhere"],
      ["DELETE", "/addToCart"],
      ["PATCH", "/products"],
    );
    await check(
      fc.tuple(routes, parserBodies, fc.boolean()).map(([[method, path], v, admin]) => ({
        ...v,
        method,
        path,
        headers: { ...v.headers, ...(admin ? AUTH_OK : {}) },
      })),
      RUNS + 50,
    );
  });

  it("POST /addToCart: wrong content types, wrong fields, wrong shapes", async () => {
    const body = fc.oneof(
      { weight: 6, arbitrary: fieldBodies(ADD_TO_CART) },
      { weight: 2, arbitrary: shapeBodies(ADD_TO_CART) },
      { weight: 2, arbitrary: wrongContentTypes(ADD_TO_CART) },
    );
    await check(body.map((v) => ({ ...v, method: "POST", path: "/addToCart" })));
  });

  it("POST /checkOutCart: wrong content types, wrong fields, wrong shapes, bad Idempotency-Key", async () => {
    const idempotencyKey = fc.stringMatching(/^[A-Za-z0-9]{8,32}$/);
    let serial = 0;
    const body = fc.oneof(
      { weight: 5, arbitrary: fieldBodies(CHECKOUT) },
      { weight: 2, arbitrary: shapeBodies(CHECKOUT) },
      { weight: 2, arbitrary: wrongContentTypes(CHECKOUT) },
    );
    const invalidBody = fc.tuple(body, fc.option(idempotencyKey, { nil: undefined })).map(([v, key]) => ({
      ...v,
      // A valid key stores the 400, and replays it: each request gets its own key.
      headers: key === undefined ? v.headers : { ...v.headers, "idempotency-key": `${key}-${serial++}` },
    }));
    const badKey = fc.tuple(badIdempotencyKey, jsonHeaders).map(([key, headers]) => ({
      label: "bad Idempotency-Key",
      headers: { ...headers, "idempotency-key": key },
      body: CHECKOUT.validBody,
      status: [400],
      mentions: [/Idempotency-Key/],
    }));
    await check(
      fc.oneof({ weight: 4, arbitrary: invalidBody }, { weight: 1, arbitrary: badKey }).map((v) => ({
        ...v,
        method: "POST",
        path: "/checkOutCart",
      })),
    );
  });
});
