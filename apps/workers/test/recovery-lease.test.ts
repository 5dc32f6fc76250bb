/**
 * The recovery after Redis lost its data is held by one process at a time. Found by the
 * chaos suite (seed 380952057): the worker running the recovery was frozen and then
 * SIGKILLed, its lock lived on for its whole 2-minute TTL, and every checkout waited
 * "the stock cache is being rebuilt": 145 told orders not final 105 s after the fault.
 * The lock is a lease its holder renews: a dead or frozen holder loses it in seconds,
 * and a holder that lost it does not declare the cache ready.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ENTRIES, sourceCommand, spawnChild } from "@oms/shared";
import { createTestEnv, type TestEnv } from "../../../test/support/env";
import { configToEnv, ROOT, startInProcessWorkers, type InProcessWorkers } from "../../../test/support/system";
import { eventually } from "../../../test/support/invariants";

let env: TestEnv;
let workers: InProcessWorkers | undefined;

beforeAll(async () => {
  env = await createTestEnv();
});

afterAll(async () => {
  await workers?.close();
  await env?.close();
});

/** Pending orders with no job: the recovery ends each one, which keeps it busy for a while. */
async function insertOrphans(count: number): Promise<void> {
  const rows = Array.from({ length: count }, () => {
    const orderId = randomUUID();
    return { order_id: orderId, client_id: `c-${orderId.slice(0, 8)}`, state: "pending" };
  });
  for (let i = 0; i < rows.length; i += 500) await env.db("orders").insert(rows.slice(i, i + 500));
}

it("a recovery whose holder is killed is taken over within seconds, and finished", async () => {
  await insertOrphans(500);
  // Redis lost its data: a worker starting now runs the recovery before it consumes.
  await env.redis.del(env.keys.epoch(0));
  const holder = spawnChild({
    name: "recovery holder",
    command: sourceCommand(ENTRIES.workers, ROOT),
    env: { ...process.env, ...configToEnv(env.config) },
  });
  await eventually("the worker to take the recovery lock", () => env.redis.get(env.keys.recoveryLock(0)), 60_000, 5);
  holder.signal("SIGKILL");
  await holder.exited;
  const killedAt = Date.now();
  expect(await env.redis.exists(env.keys.epoch(0))).toBe(0);
  expect(await pendingCount()).toBeGreaterThan(0);

  workers = await startInProcessWorkers(env);
  await eventually("another worker to finish the recovery", () => env.redis.get(env.keys.epoch(0)), 150_000, 50);
  // The lease (10 s) plus the rest of the work, not the old 2-minute lock.
  expect(Date.now() - killedAt).toBeLessThan(60_000);
  expect(await pendingCount()).toBe(0);
}, 200_000);

async function pendingCount(): Promise<number> {
  const rows = (await env.db("orders").where({ state: "pending" }).count({ n: "*" })) as Array<{ n: number }>;
  return Number(rows[0]?.n);
}
