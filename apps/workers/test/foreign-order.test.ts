/**
 * A checkout job whose order id belongs to another client can never succeed: it fails
 * after one attempt (BullMQ's UnrecoverableError, not six retries), and the final-failure
 * compensation does not run on the other client's order.
 */
import { randomUUID } from "node:crypto";
import { expect, it } from "vitest";
import { createQueue, type CheckoutJob } from "@oms/shared";
import { insertProducts, type TestEnv } from "../../../test/support/env";
import { useSystem } from "../../../test/support/fixture";

let env: TestEnv;

useSystem({ JOB_ATTEMPTS: "6" }, (system) => ({ env } = system), { api: false });

it.each([
  ["an order with its items", true],
  ["a placeholder the API recorded for a 202 (pending, no items)", false],
])("fails after one attempt and leaves the other client's order as it was: %s", async (_what, withItems) => {
  const productID = `p-${randomUUID().slice(0, 8)}`;
  const owner = `owner-${randomUUID().slice(0, 8)}`;
  const intruder = `intruder-${randomUUID().slice(0, 8)}`;
  const orderId = randomUUID();
  await insertProducts(env.db, [{ id: productID, quantity: 5 }]);
  await env.db("orders").insert({ order_id: orderId, client_id: owner, state: "pending", total_cents: 100 });
  if (withItems)
    await env
      .db("order_items")
      .insert({ order_id: orderId, product_id: productID, quantity: 1, unit_price_cents: 100 });
  await env.db("client_cart").insert({ client_id: intruder, product_id: productID, quantity: 1 });
  const before = await env.db("orders").where({ order_id: orderId }).first();

  const queue = createQueue("checkout", env.redis, env.keys, env.config);
  try {
    const replyTo = env.keys.reply("foreign-order-test");
    const data: CheckoutJob = { type: "checkout", replyTo, orderId, clientId: intruder, paymentToken: "tok_ok" };
    const job = await queue.add("checkout", data, { jobId: orderId });
    let state = await job.getState();
    for (let i = 0; i < 100 && state !== "failed"; i++) {
      await new Promise((r) => setTimeout(r, 50));
      state = await job.getState();
    }
    expect(state).toBe("failed");
    const failed = await queue.getJob(orderId);
    expect(failed?.attemptsMade).toBe(1);
    expect(failed?.failedReason).toMatch(/belongs to another client/);
    // The waiting API process hears of it at once, with a code rather than a message to parse.
    const reply = JSON.parse((await env.redis.lpop(replyTo)) ?? "null") as unknown;
    expect(reply).toMatchObject({ queue: "checkout", jobId: orderId, ok: false, code: "INTERNAL" });
  } finally {
    await queue.close();
  }
  expect(await env.db("orders").where({ order_id: orderId }).first()).toEqual(before);
  expect(await env.db("order_items").where({ order_id: orderId })).toHaveLength(withItems ? 1 : 0);
});
