/**
 * Bounded recovery (issue 12): an order a client was told about whose checkout job is
 * gone (Redis lost it, it failed for good) ends within seconds, not after a hold's
 * lifetime; an order whose job still lives is never swept, however old.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "../../../test/support/env";
import { startInProcessWorkers, type InProcessWorkers } from "../../../test/support/system";
import { eventually, sleep } from "../../../test/support/invariants";

let env: TestEnv;
let workers: InProcessWorkers;

beforeAll(async () => {
  // The defaults (HOLD_TTL_MS 5 min) except a faster sweep, so the test need not wait 5 s per round.
  env = await createTestEnv({ HOLD_SWEEP_INTERVAL_MS: "1000", ORPHAN_AFTER_MS: "3000" });
  workers = await startInProcessWorkers(env);
});

afterAll(async () => {
  await workers?.close();
  await env?.close();
});

async function pendingOrder(): Promise<string> {
  const orderId = randomUUID();
  await env.db("orders").insert({ order_id: orderId, client_id: `c-${orderId.slice(0, 8)}`, state: "pending" });
  return orderId;
}

const stateOf = async (orderId: string) =>
  ((await env.db("orders").where({ order_id: orderId }).first("state")) as { state: string }).state;

it("ends a told order whose job is gone within seconds, without waiting for a hold's lifetime", async () => {
  const orphan = await pendingOrder();
  const started = Date.now();
  await eventually("the orphan to end", async () => ((await stateOf(orphan)) === "failed" ? true : undefined), 20_000);
  // ORPHAN_AFTER_MS (3 s) plus at most a sweep interval or two; HOLD_TTL_MS is 5 minutes.
  expect(Date.now() - started).toBeLessThan(10_000);
});

it("leaves an order alone while its job lives, however long it has been pending", async () => {
  const orderId = await pendingOrder();
  // A job that stays waiting: delayed far into the future.
  await workers.deps.checkoutQueue.add(
    "checkout",
    { type: "checkout", orderId, clientId: `c-${orderId.slice(0, 8)}`, paymentToken: "tok_ok" },
    { jobId: orderId, delay: 60_000 },
  );
  await sleep(6_000);
  expect(await stateOf(orderId)).toBe("pending");
  await (await workers.deps.checkoutQueue.getJob(orderId))?.remove();
});
