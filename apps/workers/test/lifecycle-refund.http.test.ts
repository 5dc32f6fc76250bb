/**
 * Refund over HTTP against the real Redis and MariaDB: partial refunds adding up to the
 * whole (partially_refunded, then refunded; more than is left 409), a refund asked twice
 * refunded once (an Idempotency-Key replay, a job delivered twice, a keyed retry whose
 * stored answer is gone), the units back in stock, and the checks of its input. After
 * them, conservation over every order of the file.
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { scanAll } from "../../../test/support/env";
import { postJson } from "../../../test/support/system";
import { assertConservation, eventually } from "../../../test/support/invariants";
import { buy, postEmpty, refundFigures, refundsSettled } from "../../../test/support/lifecycle";
import {
  admin,
  ADMIN_TOKEN,
  api,
  env,
  initial,
  levels,
  orderOf,
  products,
  setUpLifecycle,
  uid,
  workers,
} from "./fixtures/lifecycle-http";

setUpLifecycle();

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

it("conservation holds over every order above: initial = MySQL + sold - returned, Redis = MySQL, refunds once", async () => {
  await assertConservation(env, initial);
});
