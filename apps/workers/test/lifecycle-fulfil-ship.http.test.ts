/**
 * Fulfil and ship over HTTP against the real Redis and MariaDB: fulfil, then ship with a
 * tracking reference, a partial refund keeping the order shipped and the rest making it
 * refunded; an order not paid or already ended refused (409), a bad tracking reference
 * refused (400). After them, conservation over every order of the file.
 */
import { describe, expect, it } from "vitest";
import { assertConservation } from "../../../test/support/invariants";
import { buy } from "../../../test/support/lifecycle";
import { admin, api, cancel, env, initial, orderOf, products, setUpLifecycle, uid } from "./fixtures/lifecycle-http";

setUpLifecycle();

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
