/**
 * The checkout saga after a crash, and when its attempts run out, against the real Redis
 * and MariaDB: a re-delivery picks up whatever an earlier delivery left (a hold, a charge,
 * a MySQL commit) without doing it twice, refunds an order failed under a charge, and a
 * final failure ends the order failed with its hold released, even when refunds fail too.
 */
import { describe, expect, it } from "vitest";
import {
  TransientPaymentError,
  runCheckout,
  type ChargeRequest,
  type ChargeResult,
  type PaymentProvider,
} from "@oms/workers";
import { sagaDeps } from "../src/checkout/saga-deps";
import { postJson, startApi, startInProcessWorkers } from "../../../test/support/system";
import { assertConservation, eventually } from "../../../test/support/invariants";
import { crashAfter, deps, env, prepare, setUpSaga } from "./fixtures/checkout-saga";
import { cartOf, snapshot, stockAfterSale, stockUntouched } from "./fixtures/saga-snapshot";

setUpSaga();

describe("runCheckout after a crash", () => {
  it("a crash after reserve and beginCommit: the saga completes without reserving twice", async () => {
    const p = await prepare([
      { stock: 8, quantity: 3, priceCents: 100 },
      { stock: 3, quantity: 3, priceCents: 200 },
    ]);
    await crashAfter(p, ["reserve", "beginCommit"]);
    expect((await snapshot(p)).redis).toEqual(stockAfterSale(p));

    expect(await runCheckout(p.job, sagaDeps(deps))).toEqual({
      outcome: "completed",
      orderId: p.job.orderId,
      totalCents: p.totalCents,
    });
    const after = await snapshot(p);
    expect(after.redis).toEqual(stockAfterSale(p));
    expect(after.hold).toBe("committed");
    expect(after.payments).toEqual([{ status: "succeeded", attempts: 1, amount_cents: p.totalCents }]);
    await assertConservation(env, p.initial);
  });

  it("a crash after the charge: the replayed charge is not charged again", async () => {
    const p = await prepare([{ stock: 5, quantity: 1, priceCents: 4200 }]);
    await crashAfter(p, ["reserve", "beginCommit", "charge"]);

    expect((await runCheckout(p.job, sagaDeps(deps))).outcome).toBe("completed");
    const after = await snapshot(p);
    expect(after.payments).toEqual([{ status: "succeeded", attempts: 1, amount_cents: 4200 }]);
    expect(after.redis).toEqual(stockAfterSale(p));
    expect(after.orders).toEqual([{ order_id: p.job.orderId, state: "completed" }]);
    await assertConservation(env, p.initial);
  });

  it("a crash after the MySQL commit, before the Redis commit: the replay commits the hold", async () => {
    const p = await prepare([{ stock: 5, quantity: 2, priceCents: 300 }]);
    await crashAfter(p, ["reserve", "beginCommit", "charge", "complete"]);
    expect((await snapshot(p)).hold).toBe("committing");

    expect((await runCheckout(p.job, sagaDeps(deps))).outcome).toBe("completed");
    const after = await snapshot(p);
    expect(after.hold).toBe("committed");
    expect(after.redis).toEqual(stockAfterSale(p));
    expect(after.reservePurchase).toEqual(cartOf(p));
    await assertConservation(env, p.initial);
  });

  it("an order failed by someone else while it was charged: the saga refunds and releases", async () => {
    const p = await prepare([
      { stock: 4, quantity: 2, priceCents: 150 },
      { stock: 9, quantity: 1, priceCents: 80 },
    ]);
    // The charge goes through; before the saga commits, the order is ended as failed.
    const failingAfterCharge: PaymentProvider = {
      async charge(request: ChargeRequest): Promise<ChargeResult> {
        const result = await deps.payment.charge(request);
        await deps.orders.fail(request.orderId, "checkout_failed", "ended by the final-failure path");
        return result;
      },
      refund: (key) => deps.payment.refund(key),
    };

    const result = await runCheckout(p.job, { ...sagaDeps(deps), payment: failingAfterCharge });
    expect(result).toEqual({ outcome: "failed", orderId: p.job.orderId, reason: "ended by the final-failure path" });
    const after = await snapshot(p);
    expect(after.orders).toEqual([{ order_id: p.job.orderId, state: "failed" }]);
    expect(after.payments).toEqual([{ status: "refunded", attempts: 1, amount_cents: p.totalCents }]);
    expect(after.redis).toEqual(stockUntouched(p));
    expect(after.hold).toBe("released");
    expect(after.reservePurchase).toEqual([]);
    expect(after.cart).toEqual(cartOf(p));
    await assertConservation(env, p.initial);
  });

  it("a re-delivery that finds its order failed under a succeeded charge refunds it and releases", async () => {
    // A delivery charged, the order was failed meanwhile, and the delivery crashed before
    // its refund (saga.ts, the `already_failed` branch). The next delivery must finish that.
    const p = await prepare([{ stock: 3, quantity: 1, priceCents: 700 }]);
    await crashAfter(p, ["reserve", "beginCommit", "charge"]);
    expect(await deps.orders.fail(p.job.orderId, "checkout_failed", "ended while charging")).toBe(true);

    const result = await runCheckout(p.job, sagaDeps(deps));
    expect(result.outcome).not.toBe("completed");
    const after = await snapshot(p);
    expect(after.redis).toEqual(stockUntouched(p));
    expect(after.hold).toBe("released");
    expect(after.payments).toEqual([{ status: "refunded", attempts: 1, amount_cents: 700 }]);
    await assertConservation(env, p.initial);
  });
});

/** A payment network that is down for charges; refunds optionally fail too. */
class DownProvider implements PaymentProvider {
  charges = 0;
  refunds = 0;
  constructor(private readonly refundsFail: boolean) {}
  async charge(request: ChargeRequest): Promise<ChargeResult> {
    this.charges++;
    throw new TransientPaymentError(`payment network unreachable for ${request.orderId}`);
  }
  async refund(_idempotencyKey: string): Promise<void> {
    this.refunds++;
    if (this.refundsFail) throw new TransientPaymentError("payment network unreachable for refunds");
  }
}

describe("final failure: attempts exhausted (JOB_ATTEMPTS=2, in-process workers)", () => {
  async function runFinalFailure(provider: DownProvider) {
    const p = await prepare([
      { stock: 6, quantity: 2, priceCents: 310 },
      { stock: 2, quantity: 2, priceCents: 40 },
    ]);
    const workers = await startInProcessWorkers(env, { JOB_ATTEMPTS: 2 }, { payment: provider });
    const api = await startApi(env, { JOB_ATTEMPTS: 2 });
    try {
      const res = await postJson(`${api.url}/checkOutCart`, { clientID: p.job.clientId, paymentToken: "tok_ok" });
      const orders = await eventually(
        "the order to leave pending",
        async () => {
          const rows = (await env.db("orders").where({ client_id: p.job.clientId })) as Array<{
            order_id: string;
            state: string;
            failure_code: string | null;
            failure_reason: string | null;
          }>;
          return rows.length === 1 && rows[0]?.state !== "pending" ? rows : undefined;
        },
        10_000,
      ).catch((err: unknown) => {
        throw new Error(`${String(err)}; API answered ${res.status} ${JSON.stringify(res.body)}`);
      });
      return { p, res, orders };
    } finally {
      await api.close();
      await workers.close();
    }
  }

  it("ends the order failed with a reason, releases the hold, answers not 200", async () => {
    const provider = new DownProvider(false);
    const { p, res, orders } = await runFinalFailure(provider);
    expect(res.status, JSON.stringify(res.body)).not.toBe(200);
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ status: "Failed", state: "failed" });
    expect(res.body.error).toMatch(/checkout failed after 2 attempts: payment network unreachable/);
    expect(provider.charges).toBe(2);

    const [order] = orders;
    expect(order).toMatchObject({ state: "failed", failure_code: "checkout_failed" });
    expect(order?.failure_reason).toMatch(/after 2 attempts/);
    const after = await snapshot({ ...p, job: { ...p.job, orderId: order?.order_id ?? "" } });
    expect(after.redis).toEqual(stockUntouched(p));
    expect(after.hold).toBe("released");
    expect(after.cart).toEqual(cartOf(p));
    await assertConservation(env, p.initial);
  });

  it("ends the order failed even when refunds fail too (the payment network is down entirely)", async () => {
    const provider = new DownProvider(true);
    const { p, res, orders } = await runFinalFailure(provider);
    expect(res.status, JSON.stringify(res.body)).not.toBe(200);
    expect(orders[0]).toMatchObject({ state: "failed" });
    expect((await snapshot({ ...p, job: { ...p.job, orderId: orders[0]?.order_id ?? "" } })).redis).toEqual(
      stockUntouched(p),
    );
    await assertConservation(env, p.initial);
  });
});
