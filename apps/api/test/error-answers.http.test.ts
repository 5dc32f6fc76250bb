/**
 * What the API answers when it must refuse or cannot finish, over HTTP against the real
 * Redis and MariaDB: a restock past the stock cap is a 4xx naming the limit (review
 * finding 12), every 5xx is logged, and a 503 advises only what is true for the request
 * (finding 20).
 */
import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it, vi } from "vitest";
import { insertProducts, type TestEnv } from "../../../test/support/env";
import { getJson, postJson, type RunningApi } from "../../../test/support/system";
import { useSystem } from "../../../test/support/fixture";

const ADMIN_TOKEN = "error-answers-admin-token";
const ADMIN = { authorization: `Bearer ${ADMIN_TOKEN}` };
const CAP = 1_000_000_000;

let env: TestEnv;
let api: RunningApi;

useSystem({ ADMIN_TOKEN }, (system) => ({ env, api } = system), { workers: false });

afterEach(() => {
  vi.restoreAllMocks();
});

const uid = (tag: string) => `${tag}-${randomUUID().slice(0, 8)}`;

async function mysqlQuantity(productId: string): Promise<number> {
  const row = (await env.db("product_details").where({ product_id: productId }).first("quantity")) as {
    quantity: number;
  };
  return Number(row.quantity);
}

describe("restock past the stock cap (finding 12)", () => {
  it("four adds of 1000000000: the first fills the cap, the rest are 409 naming the limit, nothing changes", async () => {
    const productID = uid("p");
    await insertProducts(env.db, [{ id: productID, quantity: 0 }]);
    const answers = [];
    for (let i = 0; i < 4; i++)
      answers.push(await postJson(`${api.url}/admin/products/${productID}/restock`, { add: CAP }, ADMIN));
    expect(answers.map((a) => a.status)).toEqual([200, 409, 409, 409]);
    for (const a of answers.slice(1)) {
      expect(a.body.status).toBe("Failed");
      expect(a.body.error).toMatch(/add/);
      expect(a.body.error).toMatch(/1000000000/);
    }
    expect(await mysqlQuantity(productID)).toBe(CAP);
    expect(Number(await env.redis.get(env.keys.stock(productID)))).toBe(CAP);
  });

  it("an add that would pass the cap by one unit is refused like a set above it", async () => {
    const productID = uid("p");
    await insertProducts(env.db, [{ id: productID, quantity: CAP - 5 }]);
    const over = await postJson(`${api.url}/admin/products/${productID}/restock`, { add: 6 }, ADMIN);
    expect(over.status).toBe(409);
    expect(over.body.error).toMatch(/1000000000/);
    const setOver = await postJson(`${api.url}/admin/products/${productID}/restock`, { set: CAP + 1 }, ADMIN);
    expect(setOver.status).toBe(400);
    const exact = await postJson(`${api.url}/admin/products/${productID}/restock`, { add: 5 }, ADMIN);
    expect(exact.status).toBe(200);
    expect(await mysqlQuantity(productID)).toBe(CAP);
  });
});

describe("every 5xx is logged", () => {
  it("an unexpected error is a 500 without internals, logged once with the request id and the cause", async () => {
    const logged = vi.spyOn(api.deps.logger, "error");
    vi.spyOn(api.deps.engine, "available").mockRejectedValue(new Error("boom in the stock engine"));
    const list = await getJson(`${api.url}/products`);
    expect(list.status).toBe(500);
    expect(list.body).toEqual({ status: "Failed", error: "internal error", code: "INTERNAL" });
    const requestId = list.headers.get("x-request-id");
    expect(logged).toHaveBeenCalledTimes(1);
    expect(logged.mock.calls[0]?.[0]).toMatchObject({
      requestId,
      status: 500,
      route: "/products",
      err: expect.stringMatching(/boom in the stock engine/),
    });
  });

  it("a 503 is logged too (as a warning: the dependency is down, not the code)", async () => {
    const warned = vi.spyOn(api.deps.logger, "warn");
    vi.spyOn(api.deps.db, "raw").mockRejectedValue(
      Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }),
    );
    const res = await getJson(`${api.url}/readyz`);
    expect(res.status).toBe(503);
    expect(warned).toHaveBeenCalledWith(expect.objectContaining({ status: 503, route: "/readyz" }), expect.any(String));
  });
});

describe("the 503 of a checkout MySQL could not record (finding 20)", () => {
  const dbDown = () =>
    vi
      .spyOn(api.deps.db, "raw")
      .mockRejectedValue(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }));

  async function cartOf(clientID: string): Promise<void> {
    const productID = uid("p");
    await insertProducts(env.db, [{ id: productID, quantity: 5 }]);
    await env.db("client_cart").insert({ client_id: clientID, product_id: productID, quantity: 1 });
  }

  it("without an Idempotency-Key: no advice about a key it never sent, and no order id that may never exist", async () => {
    const clientID = uid("c");
    await cartOf(clientID);
    dbDown();
    const res = await postJson(`${api.url}/checkOutCart`, { clientID }, { prefer: "respond-async" });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(res.body.error).not.toMatch(/Idempotency-Key/i);
    expect(res.body.error).toContain(`GET /clients/${clientID}/orders`);
    expect(res.body).not.toHaveProperty("orderId");
  });

  it("with an Idempotency-Key: retry with that key (the same checkout), and no order id either", async () => {
    const clientID = uid("c");
    await cartOf(clientID);
    dbDown();
    const res = await postJson(
      `${api.url}/checkOutCart`,
      { clientID },
      { prefer: "respond-async", "idempotency-key": uid("k") },
    );
    expect(res.status).toBe(503);
    expect(res.body.error).toMatch(/retry with the same Idempotency-Key/);
    expect(res.body).not.toHaveProperty("orderId");
  });
});
