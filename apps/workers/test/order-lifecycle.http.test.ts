/**
 * Cancel, refund, fulfil and ship over HTTP against the real Redis and MariaDB: each
 * route, each refused move (409 INVALID_TRANSITION), partial refunds adding up to the
 * whole, a refund asked twice refunded once, stock back in MySQL and the cache, and a
 * replayed checkout of a cancelled order changing nothing.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SignJWT } from "jose";
import { QUEUE_NAMES } from "@oms/shared";
import { insertProducts, scanAll, type TestEnv } from "../../../test/support/env";
import { getJson, postJson, startApi, type InProcessWorkers, type RunningApi } from "../../../test/support/system";
import { assertConservation, eventually } from "../../../test/support/invariants";
import { adminPost, buy, postEmpty, refundFigures, refundsSettled } from "../../../test/support/lifecycle";
import { useSystem } from "../../../test/support/fixture";

const ADMIN_TOKEN = "admin-token-for-lifecycle-tests";
const JWT_SECRET = "lifecycle-test-secret-of-32-characters!";

let env: TestEnv;
let api: RunningApi;
let jwtApi: RunningApi;
let workers: InProcessWorkers;
const initial = new Map<string, number>();

const uid = (tag: string) => `${tag}-${randomUUID().slice(0, 8)}`;

useSystem({ ADMIN_TOKEN }, (system) => ({ env, api, workers } = system));

beforeAll(async () => {
  jwtApi = await startApi(env, { JWT_SECRET });
});

afterAll(async () => {
  await jwtApi?.close();
});

async function products(...specs: Array<[quantity: number, priceCents: number]>): Promise<string[]> {
  const ids = specs.map(() => uid("p"));
  await insertProducts(
    env.db,
    specs.map(([quantity, priceCents], i) => ({ id: ids[i] ?? "", quantity, priceCents })),
  );
  ids.forEach((id, i) => initial.set(id, specs[i]?.[0] ?? 0));
  return ids;
}

const admin = (path: string, body?: unknown, headers?: Record<string, string>) =>
  adminPost(api.url, ADMIN_TOKEN, path, body, headers);
const cancel = (orderId: string, headers: Record<string, string> = {}) =>
  postEmpty(`${api.url}/orders/${orderId}/cancel`, headers);

async function orderOf(orderId: string) {
  const res = await getJson<{ order: Record<string, unknown> & { state: string; refunds: unknown[] } }>(
    `${api.url}/orders/${orderId}`,
  );
  expect(res.status).toBe(200);
  return res.body.order;
}

async function levels(productId: string): Promise<{ mysql: number; available: number }> {
  const res = await getJson<{ product: { quantity: number; available: number } }>(`${api.url}/products/${productId}`);
  return { mysql: res.body.product.quantity, available: res.body.product.available };
}

describe("cancel", () => {
  it("a completed order: 200 cancelled, the whole charge refunded once, the units back in stock", async () => {
    const [a, b] = await products([10, 250], [5, 1999]);
    const orderId = await buy(api.url, uid("c"), [
      [a ?? "", 3],
      [b ?? "", 1],
    ]);
    const res = await cancel(orderId);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ state: "cancelled", previousState: "completed", refund: { amountCents: 2749 } });

    const figures = await refundsSettled(env, orderId);
    expect(figures.refunds).toHaveLength(1);
    expect(figures.provider).toEqual([{ idempotency_key: figures.refunds[0]?.refund_id, amount_cents: 2749 }]);
    const order = await orderOf(orderId);
    expect(order).toMatchObject({ state: "cancelled", refundedCents: 2749 });
    expect(order.cancelledAt).not.toBeNull();
    expect(await levels(a ?? "")).toMatchObject({ available: 10 });
    expect(await levels(b ?? "")).toMatchObject({ available: 5 });
    // The charge stands beside its refund: the payment row is not undone.
    expect(await env.db("payments").where({ order_id: orderId }).pluck("status")).toEqual(["succeeded"]);
  });

  it("refuses what may not be cancelled: twice, a failed, a pending, a fulfilled order (409 INVALID_TRANSITION)", async () => {
    const [a] = await products([20, 100]);
    const once = await buy(api.url, uid("c"), [[a ?? "", 1]]);
    expect((await cancel(once)).status).toBe(200);
    const twice = await cancel(once);
    expect(twice.status).toBe(409);
    expect(twice.body).toMatchObject({ code: "INVALID_TRANSITION", state: "cancelled" });

    const declinedClient = uid("c");
    await postJson(`${api.url}/addToCart`, { clientID: declinedClient, productID: a, quantity: 1 });
    const declined = await postJson(`${api.url}/checkOutCart`, {
      clientID: declinedClient,
      paymentToken: "tok_decline",
    });
    expect(declined.status).toBe(402);
    expect((await cancel(String(declined.body.orderId))).body).toMatchObject({
      code: "INVALID_TRANSITION",
      state: "failed",
    });

    const pendingId = randomUUID();
    await env.db("orders").insert({ order_id: pendingId, client_id: uid("c"), state: "pending" });
    expect((await cancel(pendingId)).body).toMatchObject({ code: "INVALID_TRANSITION", state: "pending" });

    const fulfilled = await buy(api.url, uid("c"), [[a ?? "", 2]]);
    expect((await admin(`/orders/${fulfilled}/fulfil`)).status).toBe(200);
    const late = await cancel(fulfilled);
    expect(late.status).toBe(409);
    expect(late.body).toMatchObject({ code: "INVALID_TRANSITION", state: "fulfilled" });
    expect((await refundFigures(env, fulfilled)).refunds).toEqual([]);

    expect((await cancel(randomUUID())).status).toBe(404);
    expect((await cancel("not-a-uuid")).status).toBe(400);
  });

  it("with JWT on, only the owner's token cancels; anyone else gets the 404 of an unknown order", async () => {
    const [a] = await products([5, 100]);
    const owner = uid("c");
    const orderId = await buy(api.url, owner, [[a ?? "", 1]]);
    const token = (sub: string) =>
      new SignJWT({ sub })
        .setProtectedHeader({ alg: "HS256" })
        .setIssuedAt()
        .setExpirationTime("5m")
        .sign(new TextEncoder().encode(JWT_SECRET));
    const url = `${jwtApi.url}/orders/${orderId}/cancel`;
    expect((await postEmpty(url)).status).toBe(404);
    expect((await postEmpty(url, { authorization: `Bearer ${await token(uid("other"))}` })).status).toBe(404);
    const mine = await postEmpty(url, { authorization: `Bearer ${await token(owner)}` });
    expect(mine.status, JSON.stringify(mine.body)).toBe(200);
  });

  it("a replayed checkout job of a cancelled order changes nothing (no refund of the charge, no stock)", async () => {
    const [a] = await products([6, 300]);
    const clientId = uid("c");
    const orderId = await buy(api.url, clientId, [[a ?? "", 2]]);
    expect((await cancel(orderId)).status).toBe(200);
    await refundsSettled(env, orderId);
    const job = await workers.deps.checkoutQueue.add(QUEUE_NAMES.checkout, {
      type: "checkout",
      orderId,
      clientId,
      paymentToken: "tok_ok",
    });
    await eventually("the replay to finish", async () => ((await job.getState()) === "completed" ? true : undefined));
    // It answers as the checkout ended (completed), and undoes nothing.
    const done = await workers.deps.checkoutQueue.getJob(job.id ?? "");
    expect(done?.returnvalue).toMatchObject({ outcome: "completed", orderId });
    expect((await orderOf(orderId)).state).toBe("cancelled");
    expect(await env.db("payments").where({ order_id: orderId }).pluck("status")).toEqual(["succeeded"]);
    expect((await refundFigures(env, orderId)).provider).toHaveLength(1);
    expect(await levels(a ?? "")).toMatchObject({ available: 6 });
  });
});

describe("refund", () => {
  it("partial refunds add up to the whole: partially_refunded, then refunded; more than is left is 409", async () => {
    const [a, b] = await products([10, 100], [10, 1000]);
    const orderId = await buy(api.url, uid("c"), [
      [a ?? "", 3],
      [b ?? "", 2],
    ]);
    const first = await admin(`/orders/${orderId}/refund`, { lines: [{ productID: a, quantity: 1 }] });
    expect(first.body).toMatchObject({ state: "partially_refunded", refund: { amountCents: 100 } });
    const second = await admin(`/orders/${orderId}/refund`, {
      lines: [
        { productID: a, quantity: 1 },
        { productID: b, quantity: 1 },
      ],
    });
    expect(second.body).toMatchObject({ state: "partially_refunded", refund: { amountCents: 1100 } });
    const tooMuch = await admin(`/orders/${orderId}/refund`, { lines: [{ productID: b, quantity: 2 }] });
    expect(tooMuch.status).toBe(409);
    expect(tooMuch.body).toMatchObject({ code: "REFUND_EXCEEDS_ORDER", productID: b, refundable: 1 });
    const notInOrder = await admin(`/orders/${orderId}/refund`, { lines: [{ productID: "nope", quantity: 1 }] });
    expect(notInOrder.body).toMatchObject({ code: "REFUND_EXCEEDS_ORDER", refundable: 0 });

    const rest = await postEmpty(`${api.url}/admin/orders/${orderId}/refund`, {
      authorization: `Bearer ${ADMIN_TOKEN}`,
    });
    expect(rest.body).toMatchObject({
      state: "refunded",
      previousState: "partially_refunded",
      refund: { amountCents: 1100 },
    });
    const figures = await refundsSettled(env, orderId);
    expect(figures.refunds.map((r) => r.amount_cents)).toEqual([100, 1100, 1100]);
    expect(figures.provider.reduce((s, p) => s + p.amount_cents, 0)).toBe(2300);
    expect((await orderOf(orderId)).refundedCents).toBe(2300);
    expect((await admin(`/orders/${orderId}/refund`)).body).toMatchObject({
      code: "INVALID_TRANSITION",
      state: "refunded",
    });
    expect(await levels(a ?? "")).toMatchObject({ available: 10 });
    expect(await levels(b ?? "")).toMatchObject({ available: 10 });
  });

  it("the same request twice refunds once: an Idempotency-Key replays the answer, a second whole refund is 409", async () => {
    const [a] = await products([8, 500]);
    const orderId = await buy(api.url, uid("c"), [[a ?? "", 4]]);
    const body = { lines: [{ productID: a, quantity: 1 }] };
    const key = { "Idempotency-Key": uid("refund") };
    const one = await admin(`/orders/${orderId}/refund`, body, key);
    const two = await admin(`/orders/${orderId}/refund`, body, key);
    expect(one.status).toBe(200);
    expect(two.body).toEqual(one.body);
    const whole = await admin(`/orders/${orderId}/refund`);
    expect(whole.body).toMatchObject({ state: "refunded", refund: { amountCents: 1500 } });
    expect((await admin(`/orders/${orderId}/refund`)).status).toBe(409);
    // The refund job delivered twice (a re-delivery, the sweep) asks the provider once.
    const refundId = String((whole.body.refund as { refundId: string }).refundId);
    const again = await workers.deps.inventoryQueue.add("refund", { type: "refund", refundId });
    await eventually("the second delivery to finish", async () =>
      (await again.getState()) === "completed" ? true : undefined,
    );
    const figures = await refundsSettled(env, orderId);
    expect(figures.refunds).toHaveLength(2);
    expect((await refundFigures(env, orderId)).provider.map((p) => p.amount_cents).sort((x, y) => x - y)).toEqual([
      500, 1500,
    ]);
  });

  it("a keyed retry whose stored answer is gone (Redis lost it) finds its first refund by id: refunded once", async () => {
    const [a] = await products([8, 400]);
    const orderId = await buy(api.url, uid("c"), [[a ?? "", 3]]);
    const body = { lines: [{ productID: a, quantity: 1 }] };
    const key = { "Idempotency-Key": uid("refund") };
    const one = await admin(`/orders/${orderId}/refund`, body, key);
    expect(one.status).toBe(200);
    const stored = await scanAll(env.redis, env.keys.idempotency("admin", "*"));
    expect(stored.length).toBeGreaterThan(0);
    await env.redis.del(...stored);
    const again = await admin(`/orders/${orderId}/refund`, body, key);
    expect(again.body).toMatchObject({ replayed: true, state: "partially_refunded" });
    expect((again.body.refund as { refundId: string }).refundId).toBe(
      (one.body.refund as { refundId: string }).refundId,
    );
    const figures = await refundsSettled(env, orderId);
    expect(figures.refunds).toHaveLength(1);
    expect(figures.provider).toHaveLength(1);
    expect(await levels(a ?? "")).toMatchObject({ available: 6 });
  });

  it("checks its input: bad lines are 400, a non-JSON body is 415, no admin token is 401", async () => {
    const orderId = randomUUID();
    expect((await admin(`/orders/${orderId}/refund`, { lines: [] })).status).toBe(400);
    expect((await admin(`/orders/${orderId}/refund`, { lines: [{ productID: "x", quantity: 0 }] })).status).toBe(400);
    expect((await admin(`/orders/${orderId}/refund`, { everything: true })).status).toBe(400);
    const text = await fetch(`${api.url}/admin/orders/${orderId}/refund`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "text/plain" },
      body: "lines",
    });
    expect(text.status).toBe(415);
    expect((await postJson(`${api.url}/admin/orders/${orderId}/refund`, {})).status).toBe(401);
    expect((await admin(`/orders/${orderId}/refund`)).status).toBe(404);
  });
});

describe("fulfil and ship", () => {
  it("fulfil -> ship with a tracking reference; a partial refund keeps shipped, the rest makes it refunded", async () => {
    const [a] = await products([10, 700]);
    const orderId = await buy(api.url, uid("c"), [[a ?? "", 3]]);
    expect((await admin(`/orders/${orderId}/fulfil`)).body).toMatchObject({
      state: "fulfilled",
      previousState: "completed",
    });
    const shipped = await admin(`/orders/${orderId}/ship`, { trackingRef: "1Z999AA10123456784" });
    expect(shipped.body).toMatchObject({
      state: "shipped",
      previousState: "fulfilled",
      trackingRef: "1Z999AA10123456784",
    });
    const part = await admin(`/orders/${orderId}/refund`, { lines: [{ productID: a, quantity: 1 }] });
    expect(part.body).toMatchObject({ state: "shipped", previousState: "shipped" });
    expect((await admin(`/orders/${orderId}/fulfil`)).body).toMatchObject({
      code: "INVALID_TRANSITION",
      state: "shipped",
    });
    expect((await admin(`/orders/${orderId}/refund`)).body).toMatchObject({
      state: "refunded",
      refund: { amountCents: 1400 },
    });
    const order = await orderOf(orderId);
    expect(order).toMatchObject({ state: "refunded", trackingRef: "1Z999AA10123456784", refundedCents: 2100 });
    expect(order.fulfilledAt).not.toBeNull();
    expect(order.shippedAt).not.toBeNull();
    expect(order.refunds).toHaveLength(2);
  });

  it("refuses to move an order that is not paid or already ended (409), and a bad tracking reference (400)", async () => {
    const [a] = await products([10, 100]);
    const cancelled = await buy(api.url, uid("c"), [[a ?? "", 1]]);
    await cancel(cancelled);
    for (const path of ["fulfil", "ship"]) {
      const res = await admin(`/orders/${cancelled}/${path}`);
      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({ code: "INVALID_TRANSITION", state: "cancelled" });
    }
    const orderId = await buy(api.url, uid("c"), [[a ?? "", 1]]);
    expect((await admin(`/orders/${orderId}/ship`, { trackingRef: "" })).status).toBe(400);
    expect((await admin(`/orders/${orderId}/ship`)).body).toMatchObject({
      state: "shipped",
      previousState: "completed",
    });
  });
});

it("conservation holds over every order above: initial = MySQL + sold - returned, Redis = MySQL, refunds once", async () => {
  await assertConservation(env, initial);
});
