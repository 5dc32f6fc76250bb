/**
 * Checkout through HTTP answered early or sent twice (see fixtures/checkout-http.ts): an
 * accepted (202) checkout is recorded before its job can run, `Prefer: respond-async`
 * answers 202 at once, a double submit joins one order with one charge, and a cart
 * resubmitted after its checkout lock expired is not sold twice.
 */
import { describe, expect, it } from "vitest";
import { keyedOrderId } from "../../api/src/handlers/order-id";
import { insertProducts } from "../../../test/support/env";
import { getJson, postJson, startApi } from "../../../test/support/system";
import {
  assertConservation,
  eventually,
  flushAll,
  sleep,
  unfinishedCheckoutJobs,
} from "../../../test/support/invariants";
import { addToCart, checkout, order, type OrderView } from "./fixtures/checkout-calls";
import { api, env, setUpCheckout, uid, workers } from "./fixtures/checkout-http";
import { mysqlQuantity, ordersOfClient, paymentsOf } from "./fixtures/checkout-rows";

setUpCheckout();
describe("POST /checkOutCart over HTTP", () => {
  it("records an accepted (202) checkout before its job can run: a worker quicker than the API's insert still ends it for its own reason", async () => {
    // The API's placeholder insert stalls (a slow MySQL, a lock). When the job was
    // queued first, the worker found no order and an empty cart and ended the job without
    // an order; the insert then left a pending order no job would finish, ended by the
    // orphan sweep much later as a generic "checkout_failed" (seen on a loaded machine).
    const client = `c-${uid()}`;
    const idempotencyKey = `k-${uid()}`;
    // A gap lock on the order id the API will insert holds its insert back for 1.5 s.
    const blocker = await env.db.transaction(undefined, { isolationLevel: "repeatable read" });
    await blocker.raw("SELECT order_id FROM orders WHERE order_id = ? FOR UPDATE", [
      keyedOrderId(api.deps.orderIdKey, client, idempotencyKey),
    ]);
    const answer = checkout(client, "tok_ok", { prefer: "respond-async", "idempotency-key": idempotencyKey });
    await sleep(1_500);
    await blocker.rollback();
    const res = await answer;
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const orderId = String(res.body.orderId);
    const ended = await eventually(
      "the accepted order to end",
      async () => {
        const view = await order(orderId);
        return view.state === "pending" ? undefined : view;
      },
      5_000,
    );
    expect(ended).toMatchObject({ state: "failed", failureCode: "empty_cart" });
  });

  it("joins a double submit: one order, both answers carry its id, one charge", async () => {
    const client = `c-${uid()}`;
    const p = `p-${uid()}`;
    await insertProducts(env.db, [{ id: p, quantity: 10, priceCents: 300 }]);
    await addToCart(client, p, 2);

    const [first, second] = await Promise.all([checkout(client), checkout(client)]);
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(second.status, JSON.stringify(second.body)).toBe(200);
    expect(second.body.orderId).toBe(first.body.orderId);
    expect(second.body.totalCents).toBe(600);

    const orders = await ordersOfClient(client);
    expect(orders).toEqual([{ order_id: first.body.orderId, state: "completed" }]);
    expect((await paymentsOf(String(first.body.orderId))).filter((x) => x.status === "succeeded")).toHaveLength(1);

    await flushAll(env);
    expect(await mysqlQuantity(p)).toBe(8);
    await assertConservation(env, new Map([[p, 10]]));
  });
  it("answers 202 at once with `Prefer: respond-async`; the order completes later", async () => {
    const client = `c-${uid()}`;
    const p = `p-${uid()}`;
    await insertProducts(env.db, [{ id: p, quantity: 2, priceCents: 900 }]);
    await addToCart(client, p, 1);

    // With the checkout worker paused nothing can finish: the 202 cannot have waited for it.
    const checkoutWorker = workers.running.workers.find((w) => w.name === "checkout");
    if (!checkoutWorker) throw new Error("no checkout worker");
    await checkoutWorker.pause();
    let orderId: string;
    try {
      const res = await checkout(client, "tok_ok", { Prefer: "respond-async" });
      expect(res.status, JSON.stringify(res.body)).toBe(202);
      expect(res.body).toMatchObject({ status: "Pending", state: "pending" });
      orderId = String(res.body.orderId);
      expect(res.headers.get("location")).toBe(`/orders/${orderId}`);
      expect(await order(orderId)).toMatchObject({ orderId, state: "pending" });
    } finally {
      await checkoutWorker.resume();
    }

    const location = `${api.url}/orders/${orderId}`;
    const done = await eventually("the async order to complete", async () => {
      const res = await getJson<{ status: string; order: OrderView }>(location);
      return res.status === 200 && res.body.order.state !== "pending" ? res.body.order : undefined;
    });
    expect(done).toMatchObject({ orderId, state: "completed", totalCents: 900 });
    expect(done.items).toEqual([{ productID: p, quantity: 1, unitPriceCents: 900 }]);
    await assertConservation(env, new Map([[p, 2]]));
  });

  it("does not sell a cart twice when it is resubmitted after the client's checkout lock expired", async () => {
    // Workers busy (paused here) for longer than CHECKOUT_LOCK_TTL_MS: the shopper got a 202,
    // waited, and submitted again. Both checkouts of the one cart then run side by side.
    const shortLock = await startApi(env, { CHECKOUT_LOCK_TTL_MS: 1_000 });
    const client = `c-${uid()}`;
    const p = `p-${uid()}`;
    await insertProducts(env.db, [{ id: p, quantity: 10, priceCents: 1234 }]);
    await addToCart(client, p, 2);

    const checkoutWorker = workers.running.workers.find((w) => w.name === "checkout");
    if (!checkoutWorker) throw new Error("no checkout worker");
    await checkoutWorker.pause();
    let ids: string[];
    try {
      const submit = () => postJson(`${shortLock.url}/checkOutCart`, { clientID: client }, { Prefer: "respond-async" });
      const first = await submit();
      await eventually("the checkout lock to expire", async () =>
        (await env.redis.exists(env.keys.checkoutLock(client))) === 0 ? true : undefined,
      );
      const second = await submit();
      expect([first.status, second.status]).toEqual([202, 202]);
      ids = [String(first.body.orderId), String(second.body.orderId)];
      expect(ids[1]).not.toBe(ids[0]); // the lock had expired: a second order id
    } finally {
      await checkoutWorker.resume();
      await shortLock.close();
    }

    const ended = await eventually("both checkouts to end", async () => {
      if ((await unfinishedCheckoutJobs(env)) !== 0) return undefined;
      const rows = await ordersOfClient(client);
      return rows.length >= 1 && rows.every((r) => r.state !== "pending") ? rows : undefined;
    });
    const succeeded = (await env.db("payments").whereIn("order_id", ids).where({ status: "succeeded" })) as unknown[];
    expect(
      { completed: ended.filter((o) => o.state === "completed").length, charges: succeeded.length },
      `orders ${JSON.stringify(ended)}`,
    ).toEqual({ completed: 1, charges: 1 });
    await flushAll(env);
    expect(await mysqlQuantity(p)).toBe(8);
    await assertConservation(env, new Map([[p, 10]]));
  });
});
