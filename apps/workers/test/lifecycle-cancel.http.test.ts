/**
 * Cancel over HTTP against the real Redis and MariaDB: a completed order cancelled with
 * its whole charge refunded once and its units back in stock, every order that may not be
 * cancelled refused (409 INVALID_TRANSITION), only the owner's token cancelling with JWT
 * on, and a replayed checkout of a cancelled order changing nothing. Last, conservation
 * over every order of the file.
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { SignJWT } from "jose";
import { QUEUE_NAMES } from "@oms/shared";
import { postJson } from "../../../test/support/system";
import { assertConservation, eventually } from "../../../test/support/invariants";
import { buy, postEmpty, refundFigures, refundsSettled } from "../../../test/support/lifecycle";
import {
  admin,
  api,
  cancel,
  env,
  initial,
  jwtApi,
  JWT_SECRET,
  levels,
  orderOf,
  products,
  setUpLifecycle,
  uid,
  workers,
} from "./fixtures/lifecycle-http";

setUpLifecycle({ jwt: true });

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

it("conservation holds over every order above: initial = MySQL + sold - returned, Redis = MySQL, refunds once", async () => {
  await assertConservation(env, initial);
});
