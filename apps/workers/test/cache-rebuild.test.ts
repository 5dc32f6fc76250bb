/**
 * While the stock cache is being rebuilt after Redis lost its data (the recovery waits on
 * MySQL), a checkout cannot reserve: that is a dependency not ready, not the job's fault.
 * Found by the chaos suite (seed 297565596): Redis restarted empty, then MySQL crashed
 * for 8 s; the recovery could not finish, every checkout spent its six attempts on
 * "the stock cache is being rebuilt" and 298 shoppers were told failed with stock left.
 */
import { randomUUID } from "node:crypto";
import { expect, it } from "vitest";
import { insertProducts, type TestEnv } from "../../../test/support/env";
import { postJson, type InProcessWorkers, type RunningApi } from "../../../test/support/system";
import { eventually, sleep } from "../../../test/support/invariants";
import { useSystem } from "../../../test/support/fixture";

let env: TestEnv;
let api: RunningApi;
let workers: InProcessWorkers;

useSystem(
  { JOB_ATTEMPTS: "2", JOB_BACKOFF_MS: "50", OUTAGE_RETRY_MS: "200" },
  (system) => ({ env, api, workers } = system),
);

it("a checkout waits for the cache rebuild without spending its attempts, then completes", async () => {
  const client = `c-${randomUUID().slice(0, 8)}`;
  const product = `p-${randomUUID().slice(0, 8)}`;
  await insertProducts(env.db, [{ id: product, quantity: 5, priceCents: 100 }]);
  await env.db("client_cart").insert({ client_id: client, product_id: product, quantity: 1 });
  // Redis lost its data: no epoch marker, and another process holds the recovery (so this
  // one cannot finish it either, as when MySQL is down).
  // Both are the product's shard's: each shard is recovered under its own lease.
  const shard = env.keys.shardOf(product);
  await env.redis.del(env.keys.epoch(shard));
  await env.redis.set(env.keys.recoveryLock(shard), "someone-else", "PX", 60_000);

  const res = await postJson(`${api.url}/checkOutCart`, { clientID: client }, { prefer: "respond-async" });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  const orderId = String(res.body.orderId);
  // Far longer than two attempts' back-off: the job must still be waiting, not failed.
  await sleep(2_000);
  const job = await workers.deps.checkoutQueue.getJob(orderId);
  // Waiting out the outage moves the job between delayed, waiting and active: any of those
  // is fine, an ended job is the bug.
  expect(["delayed", "waiting", "active"]).toContain(await job?.getState());
  expect(job?.attemptsMade ?? 0).toBeLessThan(2);

  // The recovery can finish now (MySQL answers again): the checkout completes.
  await env.redis.del(env.keys.recoveryLock(shard));
  const state = await eventually(
    "the order to end",
    async () => {
      const row = (await env.db("orders").where({ order_id: orderId }).first("state")) as { state: string } | undefined;
      return row && row.state !== "pending" ? row.state : undefined;
    },
    20_000,
  );
  expect(state).toBe("completed");
});
