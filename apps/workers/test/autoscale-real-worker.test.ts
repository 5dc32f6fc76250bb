/**
 * The autoscaler with the real worker (`apps/workers/src/main.ts`, its default command)
 * on the checkout queue, against the real Redis and MariaDB: a burst of checkouts
 * (with a slow payment provider) grows the processes, every order completes exactly
 * once while processes are retired, and stock is conserved.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { jobOptions, type CheckoutJob } from "@oms/shared";
import { DEFAULT_WORKER_COMMAND, type WorkerExit } from "../src/autoscale/supervisor";
import { createTestEnv, insertProducts, type TestEnv } from "../../../test/support/env";
import { configToEnv } from "../../../test/support/system";
import { assertConservation } from "../../../test/support/invariants";
import { startHarness, statusOf, waitFor, type Harness } from "./fixtures/autoscale-support";

const ORDERS = 48;

let env: TestEnv;
let harness: Harness | undefined;

beforeAll(async () => {
  env = await createTestEnv({ PAYMENT_SIM_LATENCY_MS: "500", WORKER_CONCURRENCY_CHECKOUT: "2" });
});

afterAll(async () => {
  await harness?.close();
  await env?.close();
});

it("scales real worker processes with a checkout burst and retires them without losing an order", async () => {
  const products = [`pa-${randomUUID().slice(0, 8)}`, `pb-${randomUUID().slice(0, 8)}`];
  await insertProducts(
    env.db,
    products.map((id) => ({ id, quantity: 1_000, priceCents: 250 })),
  );
  const clients = Array.from({ length: ORDERS }, (_, i) => `as-client-${i}`);
  await env
    .db("client_cart")
    .insert(
      clients.flatMap((client) => products.map((product_id) => ({ client_id: client, product_id, quantity: 1 }))),
    );

  const h = (harness = startHarness({
    queue: "checkout",
    prefix: env.config.REDIS_PREFIX,
    limits: { min: 1, max: 3 },
    policy: { targetBacklog: 6, maxWaitMs: 60_000, cooldownMs: 1_000 },
    pollIntervalMs: 200,
    command: DEFAULT_WORKER_COMMAND,
    env: { ...process.env, ...configToEnv(env.config), LOG_LEVEL: "info" },
  }));
  const exits: WorkerExit[] = [];
  const readyPids = new Set<number>();
  h.supervisor.on("exit", (e) => exits.push(e));
  h.supervisor.on("ready", (e) => readyPids.add(e.pid));
  await waitFor("the real worker consuming", () => statusOf(h.supervisor).ready === 1, 45_000);

  const jobs: CheckoutJob[] = clients.map((clientId) => ({
    type: "checkout",
    orderId: randomUUID(),
    clientId,
    paymentToken: "tok_ok",
  }));
  const startedAt = Date.now();
  await h.queue.addBulk(
    jobs.map((data) => ({
      name: "checkout",
      data,
      opts: { ...jobOptions(env.config, "checkout"), jobId: data.orderId },
    })),
  );

  await waitFor("more than one real worker consuming", () => statusOf(h.supervisor).ready >= 2, 45_000);
  await waitFor(
    "the burst drained",
    async () => (await h.queue.getJobCountByTypes("wait", "prioritized", "delayed", "active")) === 0,
    45_000,
  );
  const drainedAt = Date.now();
  await waitFor(
    "back to one worker",
    () => {
      const s = statusOf(h.supervisor);
      return s.running === 1 && s.retiring === 0;
    },
    30_000,
  );

  expect(Math.max(...h.samples.map((s) => s.status.desired))).toBe(3);
  expect(exits.length).toBeGreaterThanOrEqual(1);
  for (const exit of exits) {
    expect(exit).toMatchObject({ retired: true, forced: false });
    // A worker drains and exits 0. One retired while still starting may end by the signal
    // itself (before its handler is set) or exit 0 (after: nothing to drain yet).
    if (readyPids.has(exit.pid)) expect(exit.code).toBe(0);
    else expect(exit.code === 0 || exit.signal === "SIGTERM", JSON.stringify(exit)).toBe(true);
  }
  expect(exits.some((e) => readyPids.has(e.pid))).toBe(true);

  const counts = await h.queue.getJobCounts("completed", "failed", "active", "wait", "delayed");
  expect(counts).toMatchObject({ completed: ORDERS, failed: 0, active: 0, wait: 0, delayed: 0 });
  const orders = (await env
    .db("orders")
    .whereIn(
      "order_id",
      jobs.map((j) => j.orderId),
    )
    .select("state")) as Array<{
    state: string;
  }>;
  expect(orders.map((o) => o.state)).toEqual(Array.from({ length: ORDERS }, () => "completed"));
  console.log(
    `[autoscale real workers] ${JSON.stringify({
      checkouts: ORDERS,
      paymentLatencyMs: 500,
      concurrencyPerProcess: 2,
      peakWorkers: Math.max(...h.samples.map((s) => s.status.ready)),
      timeToDrainMs: drainedAt - startedAt,
      oneWorkerWouldTakeMs: (ORDERS * 500) / 2,
    })}`,
  );
  const report = await assertConservation(env, new Map(products.map((p) => [p, 1_000])));
  expect(report.completedOrders).toBe(ORDERS);
}, 90_000);
