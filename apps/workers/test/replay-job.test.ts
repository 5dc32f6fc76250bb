/**
 * Replays of the checkout saga against the real Redis and MariaDB: the same job run
 * twice, or twice at once, or again after it completed, was flushed or its hold was
 * forgotten, sells once and changes nothing more; the flush applies each decrement once,
 * and the cart keeps only what the client added meanwhile.
 */
import { describe, expect, it } from "vitest";
import { compensateCheckout, flushReservations, runCheckout } from "@oms/workers";
import { sagaDeps } from "../src/checkout/saga-deps";
import { assertConservation } from "../../../test/support/invariants";
import { deps, env, prepare, setUpSaga } from "./fixtures/checkout-saga";
import { cartOf, snapshot, stockAfterSale, stockUntouched } from "./fixtures/saga-snapshot";

setUpSaga();

describe("runCheckout replays", () => {
  it("running the same job twice sells once: one order, one charge, stock decremented once", async () => {
    const p = await prepare([
      { stock: 10, quantity: 3, priceCents: 500 },
      { stock: 7, quantity: 2, priceCents: 120 },
    ]);
    const saga = sagaDeps(deps);

    const first = await runCheckout(p.job, saga);
    expect(first).toEqual({ outcome: "completed", orderId: p.job.orderId, totalCents: p.totalCents });
    const afterFirst = await snapshot(p);
    expect(afterFirst.redis).toEqual(stockAfterSale(p));
    expect(afterFirst.reservePurchase).toEqual(cartOf(p));
    expect(afterFirst.hold).toBe("committed");
    expect(afterFirst.cart).toEqual([]);

    const second = await runCheckout(p.job, saga);
    expect(second).toEqual(first);
    const afterSecond = await snapshot(p);
    expect(afterSecond).toEqual(afterFirst);
    expect(afterSecond.orders).toEqual([{ order_id: p.job.orderId, state: "completed" }]);
    expect(afterSecond.payments).toEqual([{ status: "succeeded", attempts: 1, amount_cents: p.totalCents }]);

    await flushReservations(env.db, 1000);
    const flushed = await snapshot(p);
    expect(flushed.mysql).toEqual(Object.fromEntries(p.lines.map((l) => [l.productId, l.stock - l.quantity])));
    await assertConservation(env, p.initial);
  });

  it("a replayed out-of-stock order answers from its stored fields, whatever its reason sentence says", async () => {
    const p = await prepare([
      { stock: 5, quantity: 1 },
      { stock: 2, quantity: 3 },
    ]);
    const saga = sagaDeps(deps);
    const short = p.lines[1]?.productId;
    const first = await runCheckout(p.job, saga);
    expect(first).toEqual({ outcome: "out_of_stock", orderId: p.job.orderId, productId: short, available: 2 });
    // The answer must not depend on the wording of the reason (it used to be parsed back out of it).
    await env.db("orders").where({ order_id: p.job.orderId }).update({ failure_reason: "reworded" });
    expect(await runCheckout(p.job, saga)).toEqual(first);
    expect((await snapshot(p)).redis).toEqual(stockUntouched(p));
  });

  it("two deliveries of the same job at once (a stalled job re-delivered) still sell once", async () => {
    const p = await prepare([
      { stock: 5, quantity: 2, priceCents: 400 },
      { stock: 5, quantity: 1, priceCents: 50 },
    ]);
    const saga = sagaDeps(deps);
    const expected = { outcome: "completed", orderId: p.job.orderId, totalCents: p.totalCents };
    const settled = await Promise.allSettled([runCheckout(p.job, saga), runCheckout(p.job, saga)]);
    // A delivery may throw (BullMQ then delivers it again), but none may end the order otherwise.
    const answers = settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
    expect(answers.length).toBeGreaterThanOrEqual(1);
    for (const answer of answers) expect(answer).toEqual(expected);
    expect(await runCheckout(p.job, saga)).toEqual(expected); // the retry of a delivery that threw
    const after = await snapshot(p);
    expect(after.redis).toEqual(stockAfterSale(p));
    expect(after.reservePurchase).toEqual(cartOf(p));
    expect(after.payments).toEqual([{ status: "succeeded", attempts: 1, amount_cents: p.totalCents }]);
    await assertConservation(env, p.initial);
  });

  it("re-delivering a completed and flushed job changes nothing", async () => {
    const p = await prepare([{ stock: 4, quantity: 4, priceCents: 250 }]);
    const saga = sagaDeps(deps);
    await flushReservations(env.db, 1000); // anything an earlier test left
    expect((await runCheckout(p.job, saga)).outcome).toBe("completed");
    expect(await flushReservations(env.db, 1000)).toEqual({ rows: 1, units: 4, refused: [] });
    const before = await snapshot(p);
    expect(before.mysql).toEqual({ [p.lines[0]?.productId ?? ""]: 0 });
    expect(before.reservePurchase).toEqual([]);

    expect(await runCheckout(p.job, saga)).toEqual({
      outcome: "completed",
      orderId: p.job.orderId,
      totalCents: p.totalCents,
    });
    expect(await snapshot(p)).toEqual(before);
    expect(await flushReservations(env.db, 1000)).toEqual({ rows: 0, units: 0, refused: [] });
    expect(await snapshot(p)).toEqual(before);
    await assertConservation(env, p.initial);
  });

  it("re-delivering a finished job after its ended hold was forgotten (HOLD_RETENTION_MS) changes nothing", async () => {
    const completed = await prepare([{ stock: 6, quantity: 2, priceCents: 300 }]);
    const declined = await prepare([{ stock: 6, quantity: 3 }], "tok_decline");
    const saga = sagaDeps(deps);
    expect((await runCheckout(completed.job, saga)).outcome).toBe("completed");
    expect((await runCheckout(declined.job, saga)).outcome).toBe("declined");
    const before = [await snapshot(completed), await snapshot(declined)];
    expect(before.map((s) => s.hold)).toEqual(["committed", "released"]);
    // What the retention's expiry does to an ended hold.
    await env.redis.del(env.keys.hold(completed.job.orderId), env.keys.hold(declined.job.orderId));

    expect((await runCheckout(completed.job, saga)).outcome).toBe("completed");
    expect((await runCheckout(declined.job, saga)).outcome).toBe("declined");
    const after = [await snapshot(completed), await snapshot(declined)];
    expect(after).toEqual(before.map((s) => ({ ...s, hold: null })));
    await assertConservation(env, new Map([...completed.initial, ...declined.initial]));
  });

  it("compensateCheckout on a completed order changes nothing (no refund, no release)", async () => {
    const p = await prepare([{ stock: 6, quantity: 2, priceCents: 999 }]);
    const saga = sagaDeps(deps);
    expect((await runCheckout(p.job, saga)).outcome).toBe("completed");
    const before = await snapshot(p);

    expect(await compensateCheckout(p.job, saga, "a late final failure")).toEqual({
      outcome: "completed",
      orderId: p.job.orderId,
      totalCents: p.totalCents,
    });
    expect(await snapshot(p)).toEqual(before);
    expect(before.payments.map((x) => x.status)).toEqual(["succeeded"]);
    expect(before.hold).toBe("committed");
    await assertConservation(env, p.initial);
  });

  it("the flush applies each decrement once: a second flush applies nothing", async () => {
    const a = await prepare([
      { stock: 20, quantity: 3 },
      { stock: 20, quantity: 4 },
    ]);
    const b = await prepare([{ stock: 20, quantity: 5 }]);
    const saga = sagaDeps(deps);
    await flushReservations(env.db, 1000); // anything an earlier test left
    expect((await runCheckout(a.job, saga)).outcome).toBe("completed");
    expect((await runCheckout(b.job, saga)).outcome).toBe("completed");

    expect(await flushReservations(env.db, 1000)).toEqual({ rows: 3, units: 12, refused: [] });
    const once = [await snapshot(a), await snapshot(b)];
    expect(once[0]?.mysql).toEqual({ [a.lines[0]?.productId ?? ""]: 17, [a.lines[1]?.productId ?? ""]: 16 });
    expect(once[1]?.mysql).toEqual({ [b.lines[0]?.productId ?? ""]: 15 });

    expect(await flushReservations(env.db, 1000)).toEqual({ rows: 0, units: 0, refused: [] });
    expect([await snapshot(a), await snapshot(b)]).toEqual(once);
    await assertConservation(env, new Map([...a.initial, ...b.initial]));
  });
});

describe("the cart after a completed order", () => {
  it("lines the order took whole are gone; a line the client added to meanwhile keeps the difference", async () => {
    const p = await prepare([
      { stock: 10, quantity: 2 },
      { stock: 10, quantity: 1 },
      { stock: 10, quantity: 3 },
    ]);
    const [grown, whole, removed] = p.lines.map((l) => l.productId);
    const saga = sagaDeps(deps);
    const created = await deps.orders.createPending(p.job.orderId, p.job.clientId);
    expect(created.kind).toBe("created");
    // After the snapshot: one line grows, one is removed, one stays as ordered.
    await env.db("client_cart").where({ client_id: p.job.clientId, product_id: grown }).increment("quantity", 4);
    await env.db("client_cart").where({ client_id: p.job.clientId, product_id: removed }).delete();

    expect((await runCheckout(p.job, saga)).outcome).toBe("completed");
    const cart = await env.db("client_cart").where({ client_id: p.job.clientId }).select("product_id", "quantity");
    expect(cart).toEqual([{ product_id: grown, quantity: 4 }]);
    expect(whole).toBeDefined();
    const items = await env.db("order_items").where({ order_id: p.job.orderId }).orderBy("product_id");
    expect(items.map((i: { quantity: number }) => i.quantity).sort()).toEqual([1, 2, 3]);
  });
});
