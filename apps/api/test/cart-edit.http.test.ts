/**
 * Cart editing over HTTP (issue 14, item 1): PUT /cart/:clientID/items/:productID sets a
 * line, DELETE removes it, DELETE /cart/:clientID empties the cart; through the real cart
 * queue and a worker in this process, against the real Redis and MariaDB. Each refusal:
 * over stock, unknown product, bad input, someone else's cart with JWT on, the rate limit.
 */
import { randomUUID } from "node:crypto";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CART_COPY_EDITED } from "@oms/shared";
import { cartOf, createTestEnv, newProduct, type TestEnv } from "../../../test/support/env";
import {
  addToCartOk,
  requestJson as call,
  startApi,
  startInProcessWorkers,
  type ApiResponse,
  type InProcessWorkers,
  type RunningApi,
} from "../../../test/support/system";

const JWT_SECRET = "cart-edit-test-secret-of-32-characters!";

let env: TestEnv;
let workers: InProcessWorkers;
let api: RunningApi;
/** JWT on, over the same queues and database. */
let jwtApi: RunningApi;
/** Two requests per client per minute. */
let limited: RunningApi;

beforeAll(async () => {
  env = await createTestEnv();
  workers = await startInProcessWorkers(env, { WORKER_QUEUES: ["cart"] });
  [api, jwtApi, limited] = await Promise.all([
    startApi(env),
    startApi(env, { JWT_SECRET }),
    startApi(env, { RATE_LIMIT_PER_MINUTE: 2 }),
  ]);
});

afterAll(async () => {
  await Promise.all([api?.close(), jwtApi?.close(), limited?.close()]);
  await workers?.close();
  await env?.close();
});

const uid = (tag: string) => `${tag}-${randomUUID().slice(0, 8)}`;

const product = (quantity: number) => newProduct(env, quantity);

const setLine = (base: string, client: string, productID: string, body: unknown, headers?: Record<string, string>) =>
  call(base, "PUT", `/cart/${client}/items/${productID}`, body, headers);

const cart = (client: string) => cartOf(env, client);

/** The lines of the API's copy of the cart (the sold-out fast path reads it); every edit marks it edited. */
async function mirror(client: string): Promise<Record<string, number>> {
  const { [CART_COPY_EDITED]: edited, ...copy } = await env.redis.hgetall(env.keys.cartMirror(client));
  expect(edited, "the copy is marked edited").toBe("1");
  return Object.fromEntries(Object.entries(copy).map(([k, v]) => [k, Number(v)]));
}

describe("PUT /cart/:clientID/items/:productID", () => {
  it("sets a new line and an existing one (not adds), in MySQL and in the API's copy", async () => {
    const [a, b] = [await product(10), await product(10)];
    const client = uid("set");
    await addToCartOk(api.url, client, a, 2);

    const first = await setLine(api.url, client, a, { quantity: 7 });
    expect(first.status).toBe(200);
    expect(first.body).toEqual({
      status: "Success",
      error: "",
      clientID: client,
      productID: a,
      quantityInCart: 7,
      available: 10,
    });
    expect((await setLine(api.url, client, b, { quantity: 3 })).status).toBe(200);
    expect(await cart(client)).toEqual({ [a]: 7, [b]: 3 });
    expect(await mirror(client)).toEqual({ [a]: 7, [b]: 3 });

    // Lower is a set too; the read route shows it.
    expect((await setLine(api.url, client, a, { quantity: 1 })).body).toMatchObject({ quantityInCart: 1 });
    const view = await call(api.url, "GET", `/cart/${client}`);
    const lines = [
      { productID: a, quantity: 1 },
      { productID: b, quantity: 3 },
    ].sort((x, y) => (x.productID < y.productID ? -1 : 1));
    expect(view.body.items).toEqual(lines.map((l) => expect.objectContaining(l)));
  });

  it("0 removes the line", async () => {
    const [a, b] = [await product(5), await product(5)];
    const client = uid("zero");
    await addToCartOk(api.url, client, a, 2);
    await addToCartOk(api.url, client, b, 1);
    const res = await setLine(api.url, client, a, { quantity: 0 });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ quantityInCart: 0 });
    expect(res.body).not.toHaveProperty("available");
    expect(await cart(client)).toEqual({ [b]: 1 });
    expect(await mirror(client)).toEqual({ [b]: 1 });
  });

  it("409 above what is available, as add is; the line keeps its quantity", async () => {
    const a = await product(4);
    const client = uid("over");
    await addToCartOk(api.url, client, a, 2);
    const res = await setLine(api.url, client, a, { quantity: 5 });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ status: "Failed", code: "INSUFFICIENT_STOCK", productID: a, available: 4 });
    expect(res.body.error).toMatch(/4 available/);
    expect(await cart(client)).toEqual({ [a]: 2 });
    // Exactly what is available is fine.
    expect((await setLine(api.url, client, a, { quantity: 4 })).status).toBe(200);
  });

  it("404 for an unknown product; nothing written", async () => {
    const client = uid("unknown");
    const res = await setLine(api.url, client, uid("nope"), { quantity: 1 });
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ status: "Failed", code: "NOT_FOUND" });
    expect(await cart(client)).toEqual({});
  });

  it.each([
    [{ quantity: -1 }, /quantity: must not be negative/],
    [{ quantity: 1.5 }, /quantity: must be an integer/],
    [{ quantity: "3" }, /quantity/],
    [{ quantity: 1_000_001 }, /quantity: must be at most 1000000/],
    [{}, /quantity is required/],
    [[1], /JSON object/],
  ])("400 for the body %j, naming the field", async (body, message) => {
    const a = await product(5);
    const res = await setLine(api.url, uid("bad"), a, body);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ status: "Failed", code: "INVALID_INPUT" });
    expect(res.body.error).toMatch(message);
  });

  it("400 for a padded id in the path, 415 for a body that is not JSON", async () => {
    const a = await product(5);
    const padded = await setLine(api.url, encodeURIComponent(" x"), a, { quantity: 1 });
    expect(padded.status).toBe(400);
    expect(padded.body.error).toMatch(/clientID/);
    const res = await fetch(`${api.url}/cart/${uid("c")}/items/${a}`, {
      method: "PUT",
      headers: { "content-type": "text/plain" },
      body: "quantity=1",
    });
    expect(res.status).toBe(415);
  });
});

describe("DELETE /cart/:clientID/items/:productID and DELETE /cart/:clientID", () => {
  it("removes one line; removing a line that is not there is 200", async () => {
    const [a, b] = [await product(5), await product(5)];
    const client = uid("del");
    await addToCartOk(api.url, client, a, 1);
    await addToCartOk(api.url, client, b, 2);
    const res = await call(api.url, "DELETE", `/cart/${client}/items/${a}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ clientID: client, productID: a, quantityInCart: 0 });
    expect(await cart(client)).toEqual({ [b]: 2 });
    expect(await mirror(client)).toEqual({ [b]: 2 });
    expect((await call(api.url, "DELETE", `/cart/${client}/items/${a}`)).status).toBe(200);
    expect((await call(api.url, "DELETE", `/cart/${client}/items/${uid("never")}`)).status).toBe(200);
  });

  it("empties the cart and the API's copy", async () => {
    const [a, b] = [await product(5), await product(5)];
    const client = uid("clear");
    await addToCartOk(api.url, client, a, 1);
    await addToCartOk(api.url, client, b, 2);
    const res = await call(api.url, "DELETE", `/cart/${client}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: "Success", error: "", clientID: client, removedLines: 2 });
    expect(await cart(client)).toEqual({});
    expect(await mirror(client)).toEqual({});
    expect((await call(api.url, "DELETE", `/cart/${client}`)).body).toMatchObject({ removedLines: 0 });
  });
});

describe("with JWT_SECRET set: only the owner edits, rate-limited like the other cart routes", () => {
  const bearer = async (sub: string) => ({
    authorization: `Bearer ${await new SignJWT({ sub })
      .setProtectedHeader({ alg: "HS256" })
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(new TextEncoder().encode(JWT_SECRET))}`,
  });

  it("401 without a token, 403 with another client's, 200 and 404 with the owner's", async () => {
    const a = await product(5);
    const [alice, mallory] = [uid("alice"), uid("mallory")];
    const routes: Array<[string, string, unknown]> = [
      ["PUT", `/cart/${alice}/items/${a}`, { quantity: 1 }],
      ["DELETE", `/cart/${alice}/items/${a}`, undefined],
      ["DELETE", `/cart/${alice}`, undefined],
    ];
    for (const [method, path, body] of routes) {
      expect((await call(jwtApi.url, method, path, body)).status, `${method} ${path}`).toBe(401);
      const other = await call(jwtApi.url, method, path, body, await bearer(mallory));
      expect(other.status, `${method} ${path}`).toBe(403);
      expect(other.body).toMatchObject({ code: "FORBIDDEN" });
    }
    expect(await cart(alice)).toEqual({});
    const own = await bearer(alice);
    expect((await setLine(jwtApi.url, alice, a, { quantity: 2 }, own)).status).toBe(200);
    expect((await setLine(jwtApi.url, alice, uid("nope"), { quantity: 1 }, own)).status).toBe(404);
    expect((await call(jwtApi.url, "DELETE", `/cart/${alice}`, undefined, own)).status).toBe(200);
  });

  it("429 past RATE_LIMIT_PER_MINUTE, with Retry-After", async () => {
    const a = await product(5);
    const client = uid("rl");
    const statuses: number[] = [];
    let last: ApiResponse | undefined;
    for (let i = 0; i < 3; i++) {
      last = await setLine(limited.url, client, a, { quantity: 1 });
      statuses.push(last.status);
    }
    expect(statuses).toEqual([200, 200, 429]);
    expect(last?.body).toMatchObject({ code: "RATE_LIMITED" });
    expect(last?.headers.get("retry-after")).toBeTruthy();
  });
});
