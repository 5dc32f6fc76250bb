/**
 * A MySQL outage longer than a checkout job's whole retry back-off must not use up the
 * job's attempts: the workers reach MySQL through a proxy this test cuts (connections
 * reset, new ones refused) while checkouts are accepted; once MySQL answers again the
 * orders complete, each charged once, and no job failed for good. The API and the
 * assertions use MySQL directly.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { CuttableProxy } from "../../../test/chaos/infra";
import { createTestEnv, insertProducts, MYSQL_URL, type TestEnv } from "../../../test/support/env";
import {
  postJson,
  startApi,
  startInProcessWorkers,
  type InProcessWorkers,
  type RunningApi,
} from "../../../test/support/system";
import { assertConservation, eventually } from "../../../test/support/invariants";

const ATTEMPTS = 4;
const BACKOFF_MS = 100;
/** Longer than every retry of a job together (100 + 200 + 400 ms), with room to spare. */
const OUTAGE_MS = 6_000;

let env: TestEnv;
let proxy: CuttableProxy;
let api: RunningApi;
let workers: InProcessWorkers;

beforeAll(async () => {
  env = await createTestEnv({
    JOB_ATTEMPTS: String(ATTEMPTS),
    JOB_BACKOFF_MS: String(BACKOFF_MS),
    // Time to cut MySQL while a checkout is paying (the simulator waits, then records the charge).
    PAYMENT_SIM_LATENCY_MS: "400",
  });
  const mysql = new URL(MYSQL_URL);
  proxy = new CuttableProxy(mysql.hostname, Number(mysql.port || 3306));
  const port = await proxy.listen();
  const viaProxy = new URL(env.config.DATABASE_URL);
  viaProxy.port = String(port);
  workers = await startInProcessWorkers(env, { DATABASE_URL: viaProxy.toString() });
  api = await startApi(env);
});

afterAll(async () => {
  await api?.close();
  await workers?.close();
  await proxy?.close();
  await env?.close();
});

it("keeps checkouts through an outage longer than their back-off and completes them, charged once, when MySQL is back", async () => {
  const productId = `outage-${randomUUID().slice(0, 8)}`;
  await insertProducts(env.db, [{ id: productId, quantity: 10, priceCents: 250 }]);
  const clients = [0, 1, 2].map((i) => `outage-client-${i}-${randomUUID().slice(0, 6)}`);
  for (const clientID of clients) {
    const added = await postJson(`${api.url}/addToCart`, { clientID, productID: productId, quantity: 2 });
    expect(added.status, JSON.stringify(added.body)).toBe(200);
  }

  const outage = proxy.cut(OUTAGE_MS, "refuse");
  const orderIds: string[] = [];
  for (const clientID of clients) {
    const res = await postJson(
      `${api.url}/checkOutCart`,
      { clientID, paymentToken: "tok_ok" },
      { prefer: "respond-async" },
    );
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    orderIds.push(String(res.body.orderId));
  }
  await outage;

  const states = await eventually(
    "every order to end after the outage",
    async () => {
      const rows = (await env.db("orders").whereIn("order_id", orderIds).select("order_id", "state")) as Array<{
        state: string;
      }>;
      return rows.length === orderIds.length && rows.every((r) => r.state !== "pending") ? rows : undefined;
    },
    20_000,
    100,
  );
  expect(states.map((s) => s.state)).toEqual(["completed", "completed", "completed"]);

  for (const orderId of orderIds) {
    const job = await jobCompleted(orderId);
    // The outage's tries did not count against the job's attempts.
    expect(job?.attemptsMade ?? ATTEMPTS).toBeLessThan(ATTEMPTS);
  }
  const charges = (await env.db("payments").whereIn("order_id", orderIds).select("order_id", "status")) as Array<{
    order_id: string;
    status: string;
  }>;
  expect(
    charges
      .filter((c) => c.status === "succeeded")
      .map((c) => c.order_id)
      .sort(),
  ).toEqual([...orderIds].sort());
  expect(charges).toHaveLength(orderIds.length);

  await assertConservation(env, new Map([[productId, 10]]));
});

it("keeps a checkout that lost MySQL while paying, and completes it with its one charge when MySQL is back", async () => {
  const productId = `paying-${randomUUID().slice(0, 8)}`;
  const clientID = `paying-client-${randomUUID().slice(0, 6)}`;
  await insertProducts(env.db, [{ id: productId, quantity: 3, priceCents: 700 }]);
  const added = await postJson(`${api.url}/addToCart`, { clientID, productID: productId, quantity: 1 });
  expect(added.status, JSON.stringify(added.body)).toBe(200);

  const res = await postJson(
    `${api.url}/checkOutCart`,
    { clientID, paymentToken: "tok_ok" },
    { prefer: "respond-async" },
  );
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  const orderId = String(res.body.orderId);
  // The hold is committing: payment has started, and MySQL goes away under it.
  await eventually(
    "payment to start",
    async () => ((await env.redis.hget(env.keys.hold(orderId), "state")) === "committing" ? true : undefined),
    10_000,
    5,
  );
  await proxy.cut(OUTAGE_MS, "refuse");

  const order = await eventually(
    "the order to end after the outage",
    async () => {
      const row = (await env.db("orders").where({ order_id: orderId }).first("state", "payment_ref")) as
        { state: string; payment_ref: string | null } | undefined;
      return row && row.state !== "pending" ? row : undefined;
    },
    20_000,
    100,
  );
  expect(order.state).toBe("completed");
  const job = await jobCompleted(orderId);
  expect(job?.attemptsMade ?? ATTEMPTS).toBeLessThan(ATTEMPTS);
  const charges = (await env.db("payments").where({ order_id: orderId }).select("status", "provider_ref")) as Array<{
    status: string;
    provider_ref: string | null;
  }>;
  expect(charges).toEqual([{ status: "succeeded", provider_ref: order.payment_ref }]);
  expect((await env.redis.hget(env.keys.hold(orderId), "state")) ?? "committed").toBe("committed");

  await assertConservation(env, new Map([[productId, 3]]));
});

/** The order row commits before BullMQ marks its job completed: wait for the job too. */
async function jobCompleted(orderId: string) {
  return eventually(
    `job ${orderId} to complete`,
    async () => {
      const job = await workers.deps.checkoutQueue.getJob(orderId);
      return (await job?.getState()) === "completed" ? job : undefined;
    },
    10_000,
    50,
  );
}
