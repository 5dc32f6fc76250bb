/**
 * Review 12, finding 7: a frozen worker must not keep its jobs. The only checkout worker
 * (the real one, under the real supervisor) is stopped with SIGSTOP while it holds
 * checkouts. Its heartbeat stops; the supervisor must SIGKILL and replace it, and run
 * BullMQ's stalled-job check itself (the frozen worker was the only one running it), and
 * hand the jobs of the killed worker back without waiting for their locks to lapse, so
 * its checkouts finish well within the 40 s they stayed pending in the review, each
 * order once and charged once.
 */
import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { jobOptions, type CheckoutJob } from "@oms/shared";
import { DEFAULT_WORKER_COMMAND, type WorkerExit } from "../src/autoscale/supervisor";
import { createTestEnv, insertProducts, type TestEnv } from "../../../test/support/env";
import { configToEnv } from "../../../test/support/system";
import { assertConservation } from "../../../test/support/invariants";
import { startHarness, statusOf, waitFor, type Harness } from "./fixtures/autoscale-support";
import { isGone, killAll } from "./fixtures/processes";

const ORDERS = 8;
const HUNG_MS = 3_000;
/** From the SIGSTOP to every checkout finished: well under the review's 40 s. */
const BOUND_MS = 25_000;

let env: TestEnv;
let harness: Harness | undefined;
const frozen: number[] = [];

beforeAll(async () => {
  env = await createTestEnv({
    PAYMENT_SIM_LATENCY_MS: "1000",
    WORKER_CONCURRENCY_CHECKOUT: "4",
    JOB_LOCK_MS: "5000",
    STALLED_CHECK_MS: "2500",
  });
});

afterEach(async () => {
  // A stopped worker that was not replaced: nothing else would end it.
  killAll(frozen);
  await harness?.close();
  harness = undefined;
});

afterAll(async () => {
  await env?.close();
});

/** `n` clients with one unit of a fresh product in their carts, and their checkout jobs. */
async function checkouts(tag: string, n: number): Promise<{ product: string; jobs: CheckoutJob[] }> {
  const product = `${tag}-${randomUUID().slice(0, 8)}`;
  await insertProducts(env.db, [{ id: product, quantity: 50, priceCents: 700 }]);
  const clients = Array.from({ length: n }, (_, i) => `${product}-client-${i}`);
  await env.db("client_cart").insert(clients.map((client_id) => ({ client_id, product_id: product, quantity: 1 })));
  const jobs = clients.map((clientId): CheckoutJob => ({
    type: "checkout",
    orderId: randomUUID(),
    clientId,
    paymentToken: "tok_ok",
  }));
  return { product, jobs };
}

/** The tests share one queue: done means these jobs are completed. */
async function allCompleted(h: Harness, jobs: CheckoutJob[]): Promise<boolean> {
  const states = await Promise.all(jobs.map((j) => h.queue.getJobState(j.orderId)));
  return states.every((state) => state === "completed");
}

async function enqueue(h: Harness, jobs: CheckoutJob[]): Promise<void> {
  await h.queue.addBulk(
    jobs.map((data) => ({
      name: "checkout",
      data,
      opts: { ...jobOptions(env.config, "checkout"), jobId: data.orderId },
    })),
  );
}

/** Every order completed once and charged once, and stock conserved. */
async function assertEachOrderOnce(product: string, jobs: CheckoutJob[]): Promise<void> {
  const orderIds = jobs.map((j) => j.orderId);
  const orders = (await env.db("orders").whereIn("order_id", orderIds).select("state")) as Array<{ state: string }>;
  expect(orders.map((o) => o.state)).toEqual(orderIds.map(() => "completed"));
  const payments = (await env.db("payments").whereIn("order_id", orderIds).select("order_id", "status")) as Array<{
    order_id: string;
    status: string;
  }>;
  expect(
    payments
      .filter((p) => p.status === "succeeded")
      .map((p) => p.order_id)
      .sort(),
  ).toEqual([...orderIds].sort());
  expect(payments).toHaveLength(orderIds.length);
  const report = await assertConservation(env, new Map([[product, 50]]));
  expect(report.completedOrders).toBe(orderIds.length);
}

function realWorkers(
  limits: { min: number; max: number },
  policy: { targetBacklog: number; maxWaitMs: number; cooldownMs: number },
  supervisor: Parameters<typeof startHarness>[0]["supervisor"],
  workerEnv: Record<string, string> = {},
): Harness {
  return (harness = startHarness({
    queue: "checkout",
    prefix: env.config.REDIS_PREFIX,
    limits,
    policy,
    pollIntervalMs: 200,
    command: DEFAULT_WORKER_COMMAND,
    env: { ...process.env, ...configToEnv(env.config), LOG_LEVEL: "info", ...workerEnv },
    supervisor,
  }));
}

const stalledCheck = () => ({ intervalMs: env.config.STALLED_CHECK_MS, maxStalled: env.config.MAX_STALLED });

it("replaces a frozen worker and hands its checkouts to the next at once, each order once, charged once", async () => {
  const { product, jobs } = await checkouts("ph", ORDERS);
  // The default lock (30 s): the jobs must not wait for it to lapse.
  const h = realWorkers(
    { min: 1, max: 1 },
    { targetBacklog: 100, maxWaitMs: 60_000, cooldownMs: 60_000 },
    { hungAfterMs: HUNG_MS, stalledCheck: stalledCheck() },
    { JOB_LOCK_MS: "30000" },
  );
  const handedBack: string[] = [];
  h.supervisor.on("handBack", (e) => handedBack.push(...e.jobs));
  const crashes: WorkerExit[] = [];
  h.supervisor.on("crash", (e) => crashes.push(e));
  await waitFor("the real worker consuming", () => statusOf(h.supervisor).ready === 1, 60_000);
  const [victim] = statusOf(h.supervisor).pids;
  if (victim === undefined) throw new Error("expected one worker");
  await enqueue(h, jobs);
  await waitFor("the worker holds four checkouts", async () => (await h.queue.getActiveCount()) === 4, 20_000);

  process.kill(victim, "SIGSTOP");
  frozen.push(victim);
  const frozenAt = Date.now();
  await waitFor("every checkout finished", () => allCompleted(h, jobs), BOUND_MS);
  const doneAfterMs = Date.now() - frozenAt;

  // The frozen worker was killed (not retired) and replaced.
  expect(isGone(victim)).toBe(true);
  expect(crashes).toEqual([expect.objectContaining({ pid: victim, signal: "SIGKILL", retired: false, hung: true })]);
  expect(statusOf(h.supervisor).pids).not.toContain(victim);
  expect(await h.queue.getJobCounts("failed", "active", "wait")).toEqual({ failed: 0, active: 0, wait: 0 });
  expect((await h.metrics.hungKills.get()).values[0]?.value).toBe(1);
  // The four it held went back to wait when it died, not 30 s later.
  expect(handedBack).toHaveLength(4);
  expect(doneAfterMs).toBeLessThan(20_000);
  await assertEachOrderOnce(product, jobs);
  console.log(`[hung worker] ${JSON.stringify({ orders: ORDERS, hungAfterMs: HUNG_MS, doneAfterMs })}`);
}, 120_000);

it("hands a frozen worker's jobs back by the supervisor's own stalled check, for another worker to finish", async () => {
  // Hung-worker replacement off: only the supervisor's stalled check can free the jobs.
  const { product, jobs } = await checkouts("ps", 4);
  const h = realWorkers(
    { min: 1, max: 2 },
    { targetBacklog: 100, maxWaitMs: 1_000, cooldownMs: 60_000 },
    {
      stalledCheck: stalledCheck(),
    },
  );
  await waitFor("the real worker consuming", () => statusOf(h.supervisor).ready === 1, 60_000);
  const [victim] = statusOf(h.supervisor).pids;
  if (victim === undefined) throw new Error("expected one worker");
  await enqueue(h, jobs);
  await waitFor("the worker holds all four checkouts", async () => (await h.queue.getActiveCount()) === 4, 20_000);

  process.kill(victim, "SIGSTOP");
  frozen.push(victim);
  const frozenAt = Date.now();
  // Only a stalled check can move them (the frozen worker would have run the only other one).
  await waitFor(
    "the frozen worker's jobs moved back to wait by a stalled check",
    async () => {
      const held = await Promise.all(jobs.map((j) => h.queue.getJob(j.orderId)));
      return held.every((job) => (job?.stalledCounter ?? 0) >= 1);
    },
    15_000,
  );
  const handedBackAfterMs = Date.now() - frozenAt;
  expect(isGone(victim)).toBe(false);
  // Back in wait, their age makes the autoscaler start a second worker. The frozen one may
  // be stopped inside a group-commit transaction whose row locks block that worker's
  // writes until MySQL's lock wait times out: only its death frees them, which is why a
  // hung worker is killed, not waited for. Kill it as the hung-worker check would.
  killAll([victim]);
  await waitFor("every checkout finished", () => allCompleted(h, jobs), 60_000);
  const doneAfterMs = Date.now() - frozenAt;
  await assertEachOrderOnce(product, jobs);
  console.log(
    `[stalled check in the supervisor] ${JSON.stringify({ orders: jobs.length, handedBackAfterMs, doneAfterMs })}`,
  );
}, 120_000);

it("hands back the checkouts of a worker killed with SIGKILL at once, not when their 30 s locks lapse", async () => {
  const { product, jobs } = await checkouts("pk", 4);
  const h = realWorkers(
    { min: 1, max: 1 },
    { targetBacklog: 100, maxWaitMs: 60_000, cooldownMs: 60_000 },
    { hungAfterMs: HUNG_MS, stalledCheck: stalledCheck() },
    { JOB_LOCK_MS: "30000" },
  );
  const handedBack: string[] = [];
  h.supervisor.on("handBack", (e) => handedBack.push(...e.jobs));
  await waitFor("the real worker consuming", () => statusOf(h.supervisor).ready === 1, 60_000);
  const [victim] = statusOf(h.supervisor).pids;
  if (victim === undefined) throw new Error("expected one worker");
  await enqueue(h, jobs);
  await waitFor("the worker holds all four checkouts", async () => (await h.queue.getActiveCount()) === 4, 20_000);

  process.kill(victim, "SIGKILL");
  const killedAt = Date.now();
  await waitFor("every checkout finished", () => allCompleted(h, jobs), BOUND_MS);
  const doneAfterMs = Date.now() - killedAt;
  expect(handedBack.sort()).toEqual(jobs.map((j) => j.orderId).sort());
  expect(doneAfterMs).toBeLessThan(20_000);
  await assertEachOrderOnce(product, jobs);
  console.log(`[killed worker] ${JSON.stringify({ orders: jobs.length, doneAfterMs })}`);
}, 120_000);
