/**
 * Review 12, finding 8: worker processes must not outlive their supervisor. The real
 * autoscaler (`autoscale/main.ts`) runs as a process of its own with two real checkout
 * workers; it is SIGKILLed while they hold checkouts. Each worker must finish what it
 * holds and exit by itself, and a restarted autoscaler must then be the only one
 * consuming, finishing every order exactly once. The same one level up: `npm start`
 * (scripts/start.ts) SIGKILLed must not leave its API, autoscaler or workers running.
 */
import { randomUUID } from "node:crypto";
import { Queue } from "bullmq";
import { afterAll, beforeAll, expect, it } from "vitest";
import { QUEUE_NAMES, createRedis, jobOptions, type CheckoutJob } from "@oms/shared";
import { createTestEnv, insertProducts, type TestEnv } from "../../../test/support/env";
import { configToEnv } from "../../../test/support/system";
import { assertConservation } from "../../../test/support/invariants";
import { waitFor } from "./fixtures/autoscale-support";
import { isGone, killAll, spawnAutoscaler, spawnEntry, type AutoscalerProcess } from "./fixtures/processes";

const ORDERS = 12;
const PAYMENT_MS = 1_500;

let env: TestEnv;
let queue: Queue;
const autoscalers: AutoscalerProcess[] = [];

beforeAll(async () => {
  env = await createTestEnv({
    PAYMENT_SIM_LATENCY_MS: String(PAYMENT_MS),
    WORKER_CONCURRENCY_CHECKOUT: "2",
    SHUTDOWN_GRACE_MS: "10000",
  });
  queue = new Queue(QUEUE_NAMES.checkout, {
    connection: createRedis(env.config.REDIS_URL, { forQueue: true, name: "orphans-test" }),
    prefix: env.keys.queuePrefix("checkout"),
  });
});

afterAll(async () => {
  for (const a of autoscalers) {
    killAll([a.child.pid ?? -1]);
    killAll(a.loggingPids);
  }
  await queue?.close();
  await env?.close();
});

function autoscaler(): AutoscalerProcess {
  const a = spawnAutoscaler({
    ...process.env,
    ...configToEnv(env.config),
    LOG_LEVEL: "info",
    AUTOSCALE_WORKERS: "checkout=2:2",
    AUTOSCALE_METRICS_PORT: "0",
    AUTOSCALE_POLL_INTERVAL_MS: "200",
  });
  autoscalers.push(a);
  return a;
}

it("workers drain and exit when their autoscaler is SIGKILLed; a restarted one consumes alone and no order is lost", async () => {
  const product = `po-${randomUUID().slice(0, 8)}`;
  await insertProducts(env.db, [{ id: product, quantity: 100, priceCents: 300 }]);
  const clients = Array.from({ length: ORDERS }, (_, i) => `orphan-client-${i}`);
  await env.db("client_cart").insert(clients.map((client_id) => ({ client_id, product_id: product, quantity: 1 })));

  const first = autoscaler();
  await waitFor("two workers consuming", () => first.workerPids.size === 2, 90_000).catch((err: Error) => {
    throw new Error(`${err.message}\n${first.output.slice(-30).join("\n")}`);
  });

  const jobs: CheckoutJob[] = clients.map((clientId) => ({
    type: "checkout",
    orderId: randomUUID(),
    clientId,
    paymentToken: "tok_ok",
  }));
  await queue.addBulk(
    jobs.map((data) => ({
      name: "checkout",
      data,
      opts: { ...jobOptions(env.config, "checkout"), jobId: data.orderId },
    })),
  );
  await waitFor("both workers busy", async () => (await queue.getActiveCount()) === 4, 20_000);

  first.child.kill("SIGKILL");
  await first.exited;
  const killedAt = Date.now();
  const orphans = [...first.workerPids];
  // A drain takes one payment (1.5 s) plus the commit; 15 s leaves room for a busy machine.
  await waitFor("the orphaned workers exited", () => orphans.every(isGone), 15_000);
  const goneAfterMs = Date.now() - killedAt;

  // What they held was finished, not dropped: nothing is left active.
  expect(await queue.getActiveCount()).toBe(0);
  const doneByOrphans = await queue.getCompletedCount();
  expect(doneByOrphans).toBeGreaterThanOrEqual(4);

  const second = autoscaler();
  await waitFor("two new workers consuming", () => second.workerPids.size === 2, 90_000);
  await waitFor("every checkout finished", async () => (await queue.getCompletedCount()) === ORDERS, 60_000);
  // Only the restarted autoscaler's two workers beat: no orphan consumes beside them.
  const beating = await env.redis.zrangebyscore(env.keys.workerHeartbeats, Date.now() - 10_000, "+inf");
  expect(beating.map((id) => Number(id.split("-")[0])).sort()).toEqual([...second.workerPids].sort());

  second.child.kill("SIGTERM");
  await second.exited;
  await waitFor("the second autoscaler's workers exited", () => [...second.workerPids].every(isGone), 20_000);

  const orders = (await env
    .db("orders")
    .whereIn(
      "order_id",
      jobs.map((j) => j.orderId),
    )
    .select("order_id", "state")) as Array<{ order_id: string; state: string }>;
  expect(orders).toHaveLength(ORDERS);
  expect(orders.every((o) => o.state === "completed")).toBe(true);
  const charges = (await env
    .db("payments")
    .whereIn(
      "order_id",
      jobs.map((j) => j.orderId),
    )
    .where({ status: "succeeded" })
    .select("order_id")) as Array<{ order_id: string }>;
  expect(charges.map((c) => c.order_id).sort()).toEqual(jobs.map((j) => j.orderId).sort());
  const report = await assertConservation(env, new Map([[product, 100]]));
  expect(report.completedOrders).toBe(ORDERS);
  console.log(`[orphans] ${JSON.stringify({ orders: ORDERS, doneByOrphans, goneAfterMs })}`);
}, 240_000);

it("npm start SIGKILLed leaves no API, autoscaler or worker running", async () => {
  const start = spawnEntry("scripts/start.ts", {
    ...process.env,
    ...configToEnv(env.config),
    LOG_LEVEL: "info",
    PORT: "0",
    SEED_ON_START: "false",
    ADMIN_TOKEN: "orphans-test-admin-token",
    AUTOSCALE_WORKERS: "checkout=1:1",
    AUTOSCALE_METRICS_PORT: "0",
  });
  autoscalers.push(start);
  const seen = (msg: string) => start.output.some((line) => line.includes(msg));
  await waitFor(
    "API, autoscaler and a worker running",
    () => seen("API listening") && seen("autoscaler started") && start.workerPids.size === 1,
    90_000,
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n${start.output.slice(-30).join("\n")}`);
  });
  const children = [...start.loggingPids];
  // The API, the autoscaler and its worker, each a process of its own.
  expect(children.length).toBeGreaterThanOrEqual(3);

  start.child.kill("SIGKILL");
  await start.exited;
  await waitFor("every process npm start ran exited", () => children.every(isGone), 20_000).catch((err: Error) => {
    throw new Error(`${err.message}: still running ${children.filter((pid) => !isGone(pid)).join(", ")}`);
  });
}, 180_000);
