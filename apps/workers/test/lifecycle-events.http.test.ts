/**
 * The moves after checkout write their events in their own transactions: cancel,
 * refund (partial and whole), fulfil and ship each one event, in the order they were
 * made; a move that changes nothing (fulfil again, a keyed refund retried) none.
 */
import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { insertProducts, type TestEnv } from "../../../test/support/env";
import { type RunningApi } from "../../../test/support/system";
import { adminPost, buy, postEmpty } from "../../../test/support/lifecycle";
import { useSystem } from "../../../test/support/fixture";

const ADMIN_TOKEN = "admin-token-for-lifecycle-events";

let env: TestEnv;
let api: RunningApi;

useSystem({ ADMIN_TOKEN }, (system) => ({ env, api } = system));

beforeAll(async () => {
  await insertProducts(env.db, [
    { id: "mug", quantity: 50, priceCents: 1_200 },
    { id: "pot", quantity: 50, priceCents: 3_000 },
  ]);
});

const admin = (path: string, body?: unknown, headers?: Record<string, string>) =>
  adminPost(api.url, ADMIN_TOKEN, path, body, headers);

async function eventsOf(orderId: string) {
  const rows = (await env.db("events").where({ order_id: orderId }).orderBy("seq").select("type", "payload")) as Array<{
    type: string;
    payload: string;
  }>;
  return rows.map((r) => ({ type: r.type, data: JSON.parse(r.payload) as Record<string, unknown> }));
}

const client = () => `c-${randomUUID().slice(0, 8)}`;

describe("events of the order lifecycle", () => {
  it("cancel: order.cancelled with its refund, after order.completed", async () => {
    const orderId = await buy(api.url, client(), [["mug", 2]]);
    expect((await postEmpty(`${api.url}/orders/${orderId}/cancel`)).status).toBe(200);
    expect((await postEmpty(`${api.url}/orders/${orderId}/cancel`)).status).toBe(409);
    const events = await eventsOf(orderId);
    expect(events.map((e) => e.type)).toEqual(["order.completed", "order.cancelled"]);
    expect(events[1]?.data).toMatchObject({
      orderId,
      previousState: "completed",
      state: "cancelled",
      amountCents: 2_400,
      lines: [{ productID: "mug", quantity: 2, amountCents: 2_400 }],
    });
  });

  it("refund, fulfil, ship: one event per move, none for a retried refund or a second fulfil", async () => {
    const orderId = await buy(api.url, client(), [
      ["mug", 2],
      ["pot", 1],
    ]);
    const key = { "idempotency-key": `refund-${orderId}` };
    const partial = { lines: [{ productID: "mug", quantity: 1 }] };
    expect((await admin(`/orders/${orderId}/refund`, partial, key)).status).toBe(200);
    expect((await admin(`/orders/${orderId}/refund`, partial, key)).status).toBe(200);
    expect((await admin(`/orders/${orderId}/fulfil`)).status).toBe(200);
    expect((await admin(`/orders/${orderId}/fulfil`)).status).toBe(200);
    expect((await admin(`/orders/${orderId}/ship`, { trackingRef: "TRACK-1" })).status).toBe(200);
    expect((await admin(`/orders/${orderId}/refund`)).status).toBe(200);

    const events = await eventsOf(orderId);
    expect(events.map((e) => e.type)).toEqual([
      "order.completed",
      "order.refunded",
      "order.fulfilled",
      "order.shipped",
      "order.refunded",
    ]);
    expect(events[1]?.data).toMatchObject({ state: "partially_refunded", amountCents: 1_200 });
    expect(events[3]?.data).toMatchObject({ previousState: "fulfilled", trackingRef: "TRACK-1" });
    expect(events[4]?.data).toMatchObject({ previousState: "shipped", state: "refunded", amountCents: 4_200 });
  });
});
