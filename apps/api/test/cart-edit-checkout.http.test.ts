/**
 * Cart edits against checkouts, replays and the sold-out fast path (issue 14, item 1):
 * an edit while the client's checkout runs is a 409 and never reaches that order; a cart
 * job delivered twice changes the cart once; the API's copy of the cart follows the edits,
 * and a copy that ran ahead of MySQL never turns a checkout away.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CART_COPY_EDITED, type ClearCartJob, type SetCartLineJob } from "@oms/shared";
import { clearCart, setCartLine } from "../../workers/src/cart/edit-cart";
import { cartOf, createTestEnv, newProduct, type TestEnv } from "../../../test/support/env";
import { eventually } from "../../../test/support/invariants";
import {
  addToCartOk,
  postJson,
  requestJson,
  startApi,
  startInProcessWorkers,
  type InProcessWorkers,
  type RunningApi,
} from "../../../test/support/system";

let env: TestEnv;
let workers: InProcessWorkers;
let api: RunningApi;

beforeAll(async () => {
  env = await createTestEnv();
  // Slow payments keep a checkout running long enough to edit the cart meanwhile.
  workers = await startInProcessWorkers(env, { WORKER_QUEUES: ["cart", "checkout"], PAYMENT_SIM_LATENCY_MS: 1_000 });
  api = await startApi(env);
});

afterAll(async () => {
  await api?.close();
  await workers?.close();
  await env?.close();
});

const uid = (tag: string) => `${tag}-${randomUUID().slice(0, 8)}`;

const product = (quantity: number) => newProduct(env, quantity);

const cart = (client: string) => cartOf(env, client);

const edits = (client: string, productID: string) =>
  [
    ["PUT", `/cart/${client}/items/${productID}`, { quantity: 1 }],
    ["DELETE", `/cart/${client}/items/${productID}`, undefined],
    ["DELETE", `/cart/${client}`, undefined],
  ] as const;

describe("an edit while the client's checkout runs", () => {
  it("is 409 at the API while the checkout holds the lock, and the order is the cart as it was", async () => {
    const [a, b] = [await product(10), await product(10)];
    const client = uid("busy");
    await addToCartOk(api.url, client, a, 2);
    await addToCartOk(api.url, client, b, 1);
    const started = await postJson(`${api.url}/checkOutCart`, { clientID: client }, { prefer: "respond-async" });
    expect(started.status).toBe(202);
    const orderId = String(started.body.orderId);

    for (const [method, path, body] of edits(client, a)) {
      const res = await requestJson(api.url, method, path, body);
      expect(res.status, `${method} ${path}`).toBe(409);
      expect(res.body).toMatchObject({ status: "Failed", code: "CONFLICT" });
      expect(res.body.error).toMatch(/checkout .* in progress/);
    }

    const state = await eventually("the order to end", async () => {
      const row = (await env.db("orders").where({ order_id: orderId }).first("state")) as { state: string } | undefined;
      return row && row.state !== "pending" ? row.state : undefined;
    });
    expect(state).toBe("completed");
    const items = (await env.db("order_items").where({ order_id: orderId }).select("product_id", "quantity")) as Array<{
      product_id: string;
      quantity: number;
    }>;
    expect(Object.fromEntries(items.map((i) => [i.product_id, i.quantity]))).toEqual({ [a]: 2, [b]: 1 });
    await eventually("the checkout lock to go", async () =>
      (await env.redis.exists(env.keys.checkoutLock(client))) === 0 ? true : undefined,
    );
    // Once it ended, the (now empty) cart can change again.
    expect((await requestJson(api.url, "PUT", `/cart/${client}/items/${a}`, { quantity: 1 })).status).toBe(200);
  });

  it("is 409 from the worker when a pending order exists without a lock (the snapshot is taken)", async () => {
    const a = await product(10);
    const client = uid("pending");
    await addToCartOk(api.url, client, a, 2);
    const orderId = randomUUID();
    await env.db("orders").insert({ order_id: orderId, client_id: client, state: "pending" });
    for (const [method, path, body] of edits(client, a)) {
      const res = await requestJson(api.url, method, path, body);
      expect(res.status, `${method} ${path}`).toBe(409);
      expect(res.body).toMatchObject({ code: "CONFLICT" });
    }
    expect(await cart(client)).toEqual({ [a]: 2 });
    await env.db("orders").where({ order_id: orderId }).update({ state: "failed" });
    expect((await requestJson(api.url, "PUT", `/cart/${client}/items/${a}`, { quantity: 3 })).status).toBe(200);
  });

  it("is refused by the worker when the lock was taken after the API looked (a checkout not yet snapshotted)", async () => {
    const a = await product(10);
    const client = uid("raced");
    await addToCartOk(api.url, client, a, 2);
    await env.redis.set(env.keys.checkoutLock(client), randomUUID(), "PX", 10_000);
    const job: SetCartLineJob = { type: "setCartLine", clientId: client, productId: a, quantity: 5 };
    expect(await setCartLine(job, uid("op"), workers.deps)).toEqual({
      outcome: "checkout_in_progress",
      clientId: client,
    });
    const clear: ClearCartJob = { type: "clearCart", clientId: client };
    expect(await clearCart(clear, uid("op"), workers.deps)).toMatchObject({ outcome: "checkout_in_progress" });
    expect(await cart(client)).toEqual({ [a]: 2 });
    await env.redis.del(env.keys.checkoutLock(client));
  });

  it("goes through past a stale lock (its order ended), which it releases", async () => {
    const a = await product(10);
    const client = uid("stale");
    const ended = randomUUID();
    await env.db("orders").insert({ order_id: ended, client_id: client, state: "failed" });
    await env.redis.set(env.keys.checkoutLock(client), ended, "PX", 10_000);
    expect((await requestJson(api.url, "PUT", `/cart/${client}/items/${a}`, { quantity: 1 })).status).toBe(200);
    expect(await env.redis.exists(env.keys.checkoutLock(client))).toBe(0);
  });
});

describe("edits racing a checkout", () => {
  // Odd primes: the difference of two is even, so never one of them. A set that landed
  // between the snapshot and the commit would leave the line at (set - ordered) or take
  // it away, which no answered request asked for.
  const PRIMES = [53, 59, 61, 67, 71, 73, 79, 83, 89, 97, 101, 103];

  it("every order holds the cart as it was or as a 200 set it; the cart after is empty or a 200 set", async () => {
    for (let round = 0; round < 4; round++) {
      const a = await product(10_000);
      const client = uid(`race${round}`);
      await addToCartOk(api.url, client, a, 1);
      const sets = PRIMES.map(async (quantity, i) => {
        // Spread over ~0.75 s: from before the checkout starts to well before its payment (1 s) ends.
        await new Promise((r) => setTimeout(r, i * 60 + Math.random() * 40));
        const res = await requestJson(api.url, "PUT", `/cart/${client}/items/${a}`, { quantity });
        expect([200, 409], JSON.stringify(res.body)).toContain(res.status);
        return res.status === 200 ? quantity : null;
      });
      await new Promise((r) => setTimeout(r, 20 + round * 40));
      const checkout = await postJson(`${api.url}/checkOutCart`, { clientID: client });
      const applied = (await Promise.all(sets)).filter((q) => q !== null);
      expect(checkout.body, JSON.stringify(checkout.body)).toMatchObject({ state: "completed" });

      const [item] = (await env
        .db("order_items")
        .where({ order_id: String(checkout.body.orderId) })
        .select("quantity")) as Array<{ quantity: number }>;
      expect([1, ...applied]).toContain(item?.quantity);
      const after = (await cart(client))[a];
      if (after !== undefined) expect(applied).toContain(after);
      // The API's copy ended where MySQL did.
      const copy = await env.redis.hget(env.keys.cartMirror(client), a);
      expect(copy === null ? undefined : Number(copy)).toBe(after);
    }
  });
});

describe("replay: the same cart job processed twice changes the cart once", () => {
  it("a set re-delivered after a later add does not undo the add", async () => {
    const a = await product(10);
    const client = uid("replay-set");
    const job: SetCartLineJob = { type: "setCartLine", clientId: client, productId: a, quantity: 3 };
    const op = uid("job");
    expect(await setCartLine(job, op, workers.deps)).toMatchObject({ outcome: "set", quantityInCart: 3 });
    await addToCartOk(api.url, client, a, 2);
    expect(await setCartLine(job, op, workers.deps)).toMatchObject({ outcome: "set", quantityInCart: 5 });
    expect(await cart(client)).toEqual({ [a]: 5 });
    expect(await env.db("cart_operations").where({ operation_id: op }).count({ n: "*" })).toEqual([{ n: 1 }]);
  });

  it("two deliveries at once (one batch or two) apply once", async () => {
    const a = await product(10);
    const client = uid("replay-twice");
    await addToCartOk(api.url, client, a, 1);
    const job: SetCartLineJob = { type: "setCartLine", clientId: client, productId: a, quantity: 0 };
    const op = uid("job");
    const outcomes = await Promise.all([setCartLine(job, op, workers.deps), setCartLine(job, op, workers.deps)]);
    expect(outcomes).toEqual([
      { outcome: "set", quantityInCart: 0, available: null },
      { outcome: "set", quantityInCart: 0, available: null },
    ]);
    // A removal re-delivered after the line came back leaves it.
    await addToCartOk(api.url, client, a, 4);
    await setCartLine(job, op, workers.deps);
    expect(await cart(client)).toEqual({ [a]: 4 });
  });

  it("a job applied before a checkout began is answered as applied when re-delivered during it", async () => {
    const a = await product(10);
    const client = uid("replay-locked");
    const job: SetCartLineJob = { type: "setCartLine", clientId: client, productId: a, quantity: 2 };
    const op = uid("job");
    await setCartLine(job, op, workers.deps);
    await env.redis.set(env.keys.checkoutLock(client), randomUUID(), "PX", 10_000);
    expect(await setCartLine(job, op, workers.deps)).toMatchObject({ outcome: "set", quantityInCart: 2 });
    // A new job is refused all the same.
    expect(await setCartLine(job, uid("job"), workers.deps)).toMatchObject({ outcome: "checkout_in_progress" });
    await env.redis.del(env.keys.checkoutLock(client));
  });

  it("a clear re-delivered after new adds leaves them", async () => {
    const [a, b] = [await product(10), await product(10)];
    const client = uid("replay-clear");
    await addToCartOk(api.url, client, a, 1);
    const job: ClearCartJob = { type: "clearCart", clientId: client };
    const op = uid("job");
    expect(await clearCart(job, op, workers.deps)).toEqual({ outcome: "cleared", removedLines: 1 });
    await addToCartOk(api.url, client, b, 2);
    expect(await clearCart(job, op, workers.deps)).toEqual({ outcome: "cleared", removedLines: 0 });
    expect(await cart(client)).toEqual({ [b]: 2 });
  });
});

describe("the sold-out fast path after edits", () => {
  it("turns a short cart away without a queue, and lets it through once the line is lowered", async () => {
    const a = await product(5);
    const [alice, bob] = [uid("alice"), uid("bob")];
    await addToCartOk(api.url, alice, a, 4);
    await addToCartOk(api.url, bob, a, 3);
    expect((await postJson(`${api.url}/checkOutCart`, { clientID: bob })).status).toBe(200);

    const short = await postJson(`${api.url}/checkOutCart`, { clientID: alice });
    expect(short.status).toBe(409);
    expect(short.body).toMatchObject({ code: "INSUFFICIENT_STOCK", productID: a, available: 2 });
    // No order id: the API answered from its copy of the cart, no checkout was queued.
    expect(short.body).not.toHaveProperty("orderId");

    expect((await requestJson(api.url, "PUT", `/cart/${alice}/items/${a}`, { quantity: 2 })).status).toBe(200);
    const done = await postJson(`${api.url}/checkOutCart`, { clientID: alice });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ state: "completed" });
  });

  it("a removed short line no longer blocks the rest of the cart", async () => {
    const [scarce, plenty] = [await product(1), await product(10)];
    const [alice, bob] = [uid("alice"), uid("bob")];
    await addToCartOk(api.url, alice, scarce, 1);
    await addToCartOk(api.url, alice, plenty, 1);
    await addToCartOk(api.url, bob, scarce, 1);
    expect((await postJson(`${api.url}/checkOutCart`, { clientID: bob })).status).toBe(200);
    expect((await postJson(`${api.url}/checkOutCart`, { clientID: alice })).status).toBe(409);

    expect((await requestJson(api.url, "DELETE", `/cart/${alice}/items/${scarce}`)).status).toBe(200);
    expect(await env.redis.hgetall(env.keys.cartMirror(alice))).toEqual({ [plenty]: "1", [CART_COPY_EDITED]: "1" });
    expect((await postJson(`${api.url}/checkOutCart`, { clientID: alice })).status).toBe(200);
  });

  it("an edited cart's copy that ran ahead of MySQL (a late write of an older value) never refuses a checkout MySQL can serve", async () => {
    const a = await product(5);
    const client = uid("ahead");
    await addToCartOk(api.url, client, a, 3);
    expect((await requestJson(api.url, "PUT", `/cart/${client}/items/${a}`, { quantity: 1 })).status).toBe(200);
    // What an add of an earlier moment, written late by another worker process, leaves: the copy says 9.
    await env.redis.hset(env.keys.cartMirror(client), a, 9);
    const res = await postJson(`${api.url}/checkOutCart`, { clientID: client });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ state: "completed", totalCents: 100 });
  });

  it("a cart never edited is answered from Redis alone (its copy is trusted, as before)", async () => {
    const a = await product(5);
    const client = uid("trusted");
    await addToCartOk(api.url, client, a, 1);
    expect(await env.redis.hexists(env.keys.cartMirror(client), CART_COPY_EDITED)).toBe(0);
    // Adds only raise lines, so a copy no edit marked can only lag MySQL low and is believed
    // without a MySQL read. Forcing it above MySQL shows that no read is made: a fast refusal.
    await env.redis.hset(env.keys.cartMirror(client), a, 9);
    const res = await postJson(`${api.url}/checkOutCart`, { clientID: client });
    expect(res.status).toBe(409);
    expect(res.body).not.toHaveProperty("orderId");
  });
});
