/**
 * Two checkouts of one cart against the real Redis and MariaDB: an order created while
 * another of the same cart is being created backs off, and a batch that creates the first
 * refuses the second: one order, one charge.
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it, onTestFinished } from "vitest";
import { createLogger, type CheckoutJob, type CheckoutResult } from "@oms/shared";
import { createWorkerDeps, runCheckout } from "@oms/workers";
import { sagaDeps } from "../src/checkout/saga-deps";
import { assertConservation, eventually } from "../../../test/support/invariants";
import { deps, env, prepare, setUpSaga, uid } from "./fixtures/checkout-saga";

setUpSaga();

describe("two checkouts of one cart", () => {
  it("a second order of the same cart, created while the first is being created, backs off", async () => {
    // createPending promises: "a second checkout of the same cart waits, then sees the
    // first pending order and backs off". Hold the cart rows so both deliveries are
    // inside createPending, waiting for the lock, when the first one gets it.
    // Two worker processes: each has its own group-commit writer, so the two
    // deliveries are two transactions racing for the cart rows (within one process's
    // batch, the second is refused by the batch itself: the next test).
    const p = await prepare([{ stock: 10, quantity: 2, priceCents: 500 }]);
    const second: CheckoutJob = { ...p.job, orderId: randomUUID() };
    const otherProcess = createWorkerDeps(env.config, createLogger("silent", "replay-test-2"));
    onTestFinished(() => otherProcess.close());
    const gate = await env.db.transaction();
    let runs: Promise<PromiseSettledResult<CheckoutResult>[]>;
    try {
      await gate("client_cart").where({ client_id: p.job.clientId }).forUpdate().select("product_id");
      runs = Promise.allSettled([runCheckout(p.job, sagaDeps(deps)), runCheckout(second, sagaDeps(otherProcess))]);
      await eventually(
        "both deliveries to wait for the cart lock",
        async () => {
          // PROCESSLIST, not INNODB_TRX: MariaDB does not always list a second waiter there.
          // A statement on these rows while the gate holds them is one waiting for the lock.
          const [rows] = (await env.db.raw(
            "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE COMMAND = 'Query' AND ID <> CONNECTION_ID() AND INFO LIKE ?",
            [`%client_cart%${p.job.clientId}%for update%`],
          )) as [Array<{ n: number }>, unknown];
          return Number(rows[0]?.n) === 2 ? true : undefined;
          // Generous: on a loaded CI machine both deliveries can take a while to reach the lock.
        },
        60_000,
      );
    } finally {
      await gate.commit();
    }
    const results = (await runs).map((r) => (r.status === "fulfilled" ? r.value.outcome : `threw: ${r.reason}`));

    const orders = (await env.db("orders").where({ client_id: p.job.clientId })) as Array<{ state: string }>;
    const succeeded = (await env
      .db("payments")
      .whereIn("order_id", [p.job.orderId, second.orderId])
      .where({ status: "succeeded" })) as unknown[];
    expect(
      { completed: orders.filter((o) => o.state === "completed").length, charges: succeeded.length },
      `outcomes ${JSON.stringify(results)}`,
    ).toEqual({ completed: 1, charges: 1 });
    await assertConservation(env, p.initial);
  }, 120_000);
});

describe("two checkouts of one cart in one batch", () => {
  it("the second is refused by the batch that creates the first: one order, one charge", async () => {
    const p = await prepare([{ stock: 10, quantity: 2, priceCents: 500 }]);
    const second: CheckoutJob = { ...p.job, orderId: randomUUID() };
    const saga = sagaDeps(deps);
    // Hold the writer's one connection with another op, so both creations queue into one batch.
    const blocker = deps.orders.createPending(randomUUID(), `c-${uid()}`);
    const results = await Promise.all([runCheckout(p.job, saga), runCheckout(second, saga)]);
    await blocker;
    expect(results.map((r) => r.outcome).sort()).toEqual(["completed", "failed"]);
    const orders = (await env.db("orders").where({ client_id: p.job.clientId })) as Array<{ state: string }>;
    expect(orders.map((o) => o.state)).toEqual(["completed"]);
    await assertConservation(env, p.initial);
  });
});
