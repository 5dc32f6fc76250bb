/**
 * Minimal reproduction of the chaos suite's violation in full run seed 4015534337: a
 * checkout answered 503, its order completed anyway, and the client's retry with the
 * same Idempotency-Key made a second order (two orders, two charges, one request).
 *
 *   npx tsx test/chaos/repro-checkout-503.ts
 *
 * POST /checkOutCart bounds the enqueue at 2 s. When Redis is slow the job is added
 * after the deadline: the API answers 503 "the queue (Redis) is unavailable", deletes the
 * client's checkout lock, and (5xx answers are not stored) forgets the Idempotency-Key.
 * The job runs and completes. The retry with the same key runs again as a new checkout.
 * Here the enqueue is slowed by a stub; in the chaos run the machine was overloaded.
 * Uses its own database and key prefix on the shared MariaDB and Redis.
 */
import type { Queue } from "bullmq";
import { createTestEnv, insertProducts } from "../support/env";
import { getJson, postJson, startApi, startInProcessWorkers } from "../support/system";
import { sleep } from "./infra";

const env = await createTestEnv();
const api = await startApi(env);
const workers = await startInProcessWorkers(env);
try {
  await insertProducts(env.db, [{ id: "p1", quantity: 10, priceCents: 250 }]);
  await env.db("client_cart").insert({ client_id: "carol", product_id: "p1", quantity: 2 });

  const queue = api.deps.queues.checkout;
  const add = queue.add.bind(queue);
  let slow = 1;
  queue.add = (async (...args: Parameters<Queue["add"]>) => {
    if (slow-- > 0) await sleep(2_500); // Redis answers late: after the API's 2 s deadline
    return add(...args);
  }) as Queue["add"];

  const headers = { "idempotency-key": "checkout-1" };
  const first = await postJson(`${api.url}/checkOutCart`, { clientID: "carol" }, headers);
  console.log(`1st POST /checkOutCart -> ${first.status} ${JSON.stringify(first.body)}`);
  await sleep(3_000);
  const orders = await getJson(`${api.url}/clients/carol/orders`);
  console.log(`orders of carol after the 503: ${JSON.stringify(orders.body.orders)}`);

  // The shopper put one more item in the cart meanwhile (in the chaos run: an add that had answered 504).
  await env.db("client_cart").insert({ client_id: "carol", product_id: "p1", quantity: 1 });
  const retry = await postJson(`${api.url}/checkOutCart`, { clientID: "carol" }, headers);
  console.log(`retry, same Idempotency-Key -> ${retry.status} ${JSON.stringify(retry.body)}`);
  const completed = await env.db("orders").where({ client_id: "carol", state: "completed" }).count({ n: "*" });
  const charges = await env.db("payments").where({ status: "succeeded" }).count({ n: "*" });
  console.log(
    `completed orders: ${JSON.stringify(completed)}, succeeded charges: ${JSON.stringify(charges)}; reproduced: ${
      first.status === 503 && Number((completed[0] as { n: number }).n) === 2
    }`,
  );
} finally {
  await workers.close();
  await api.close();
  await env.close();
}
process.exit(0);
