/**
 * oms_checkout_outcomes counts every checkout's terminal outcome once: an order the
 * stuck-order sweep ends counts as failed, and a completed checkout delivered again
 * does not count twice. Read from the API's /metrics, with real workers in this process.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestEnv, insertProducts, type TestEnv } from "../../../test/support/env";
import {
  postJson,
  startApi,
  startInProcessWorkers,
  type InProcessWorkers,
  type RunningApi,
} from "../../../test/support/system";
import { eventually } from "../../../test/support/invariants";

let env: TestEnv;
let api: RunningApi;
let workers: InProcessWorkers;

beforeAll(async () => {
  // The sweep ends pending orders untouched for ORPHAN_AFTER_MS that no job will finish.
  env = await createTestEnv({ HOLD_TTL_MS: "1000" });
  workers = await startInProcessWorkers(env);
  api = await startApi(env);
});

afterAll(async () => {
  await api?.close();
  await workers?.close();
  await env?.close();
});

async function outcomes(): Promise<Record<string, number>> {
  const text = await (await fetch(`${api.url}/metrics`)).text();
  const counts: Record<string, number> = {};
  for (const [, outcome = "", value = ""] of text.matchAll(
    /^oms_checkout_outcomes\{[^}]*outcome="(\w+)"[^}]*\} (\S+)$/gm,
  ))
    counts[outcome] = Number(value);
  return counts;
}

async function finished(queue: typeof workers.deps.inventoryQueue, jobId: string): Promise<string> {
  return eventually(
    `job ${jobId} to finish`,
    async () => {
      const state = await queue.getJobState(jobId);
      return state === "completed" || state === "failed" ? state : undefined;
    },
    20_000,
  );
}

it("counts an order the sweep ends as failed, once", async () => {
  const before = (await outcomes()).failed ?? 0;
  // What the API records when it answers 202, whose job Redis then lost.
  const orderId = randomUUID();
  await env.db.raw(
    "INSERT INTO orders (order_id, client_id, state, updated_at) VALUES (?, ?, 'pending', NOW(3) - INTERVAL 5 MINUTE)",
    [orderId, `swept-${orderId.slice(0, 8)}`],
  );

  const sweep = await workers.deps.inventoryQueue.add("sweepHolds", { type: "sweepHolds" });
  expect(await finished(workers.deps.inventoryQueue, String(sweep.id))).toBe("completed");
  expect(await env.db("orders").where({ order_id: orderId }).first("state")).toEqual({ state: "failed" });
  expect((await outcomes()).failed).toBe(before + 1);

  // A second sweep finds nothing left to end and counts nothing.
  const again = await workers.deps.inventoryQueue.add("sweepHolds", { type: "sweepHolds" });
  expect(await finished(workers.deps.inventoryQueue, String(again.id))).toBe("completed");
  expect((await outcomes()).failed).toBe(before + 1);
});

it("counts a completed checkout once, even when its job is delivered again", async () => {
  const productID = `outcome-${randomUUID().slice(0, 8)}`;
  const clientID = `outcome-client-${randomUUID().slice(0, 8)}`;
  await insertProducts(env.db, [{ id: productID, quantity: 5 }]);
  const before = (await outcomes()).completed ?? 0;

  expect((await postJson(`${api.url}/addToCart`, { clientID, productID, quantity: 1 })).status).toBe(200);
  const res = await postJson(`${api.url}/checkOutCart`, { clientID, paymentToken: "tok_ok" });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect((await outcomes()).completed).toBe(before + 1);

  const job = await workers.deps.checkoutQueue.getJob(String(res.body.orderId));
  expect(job).toBeDefined();
  await job?.retry("completed");
  await eventually("the re-delivered job to complete again", async () =>
    (await workers.deps.checkoutQueue.getJob(String(res.body.orderId)))?.finishedOn !== undefined &&
    (await workers.deps.checkoutQueue.getJobState(String(res.body.orderId))) === "completed"
      ? true
      : undefined,
  );
  const replayed = await workers.deps.checkoutQueue.getJob(String(res.body.orderId));
  expect(replayed?.returnvalue).toMatchObject({ outcome: "completed" });
  expect((await outcomes()).completed).toBe(before + 1);
});
