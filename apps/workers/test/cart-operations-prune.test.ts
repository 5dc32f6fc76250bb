/**
 * Add-to-cart replay records (cart_operations, one per applied job) are kept only as
 * long as a re-delivery of the job can arrive: the inventory queue's periodic prune
 * deletes older ones in batches, keeps recent ones, and a re-delivery inside the window
 * still adds once. Real MariaDB and Redis, workers in this process.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { jobOptions } from "@oms/shared";
import { addToCart } from "../src/cart/add-to-cart";
import { createTestEnv, insertProducts, type TestEnv } from "../../../test/support/env";
import { startInProcessWorkers, type InProcessWorkers } from "../../../test/support/system";
import { eventually } from "../../../test/support/invariants";

const HOUR_MS = 3_600_000;

let env: TestEnv;
let workers: InProcessWorkers;

beforeAll(async () => {
  env = await createTestEnv({ CART_REPLAY_RETENTION_MS: String(HOUR_MS) });
  workers = await startInProcessWorkers(env, { WORKER_QUEUES: ["cart", "inventory"] });
});

afterAll(async () => {
  await workers?.close();
  await env?.close();
});

async function cartQuantity(clientId: string, productId: string): Promise<number | undefined> {
  const row = (await env.db("client_cart").where({ client_id: clientId, product_id: productId }).first("quantity")) as
    { quantity: number } | undefined;
  return row?.quantity;
}

it("the inventory queue prunes replay records past the retention in batches, keeps recent ones, and a re-delivery still adds once", async () => {
  const productId = `prune-${randomUUID().slice(0, 8)}`;
  const clientId = `prune-client-${randomUUID().slice(0, 8)}`;
  await insertProducts(env.db, [{ id: productId, quantity: 100 }]);

  // The schedule's first prune runs at start-up: let it finish, so this test's run is
  // the one that meets the rows below (the next scheduled one is a minute away).
  await eventually(
    "the start-up prune to finish",
    async () => {
      const jobs = await workers.deps.inventoryQueue.getJobs(["waiting", "active", "prioritized"]);
      return jobs.some((j) => j.name === "prune") ? undefined : true;
    },
    20_000,
  );

  // Old records (more than one batch), and one just inside the window; their times are
  // MySQL's own, as the column's default is.
  const oldRows = Array.from({ length: 2_500 }, (_, i) => ({
    operation_id: `old-${i}`,
    client_id: clientId,
    created_at: env.db.raw("NOW(3) - INTERVAL 2 HOUR"),
  }));
  for (let i = 0; i < oldRows.length; i += 500) await env.db("cart_operations").insert(oldRows.slice(i, i + 500));
  await env.db("cart_operations").insert({
    operation_id: "recent-imported",
    client_id: clientId,
    created_at: env.db.raw("NOW(3) - INTERVAL 58 MINUTE"),
  });

  const job = { type: "addToCart" as const, clientId, productId, quantity: 1 };
  const operationId = `live-${randomUUID()}`;
  expect(await addToCart(job, operationId, workers.deps)).toMatchObject({ outcome: "added", quantityInCart: 1 });

  // The prune is one of the inventory queue's periodic jobs.
  const schedulers = await workers.deps.inventoryQueue.getJobSchedulers();
  expect(schedulers.map((s) => s.key)).toContain("prune");

  const run = await workers.deps.inventoryQueue.add("prune", { type: "prune" });
  const finished = await eventually(
    "the prune job to finish",
    async () => {
      const state = await run.getState();
      return state === "completed" || state === "failed" ? state : undefined;
    },
    20_000,
  );
  expect(finished).toBe("completed");
  const done = await workers.deps.inventoryQueue.getJob(run.id ?? "");
  expect(done?.returnvalue).toEqual({ cartOperations: 2_500, deliveries: 0, events: 0 });

  const left = (await env.db("cart_operations").where({ client_id: clientId }).pluck("operation_id")) as string[];
  expect(left.sort()).toEqual([operationId, "recent-imported"].sort());

  // The job delivered again inside the window: the record is still there, nothing is added twice.
  expect(await addToCart(job, operationId, workers.deps)).toMatchObject({ outcome: "added", quantityInCart: 1 });
  expect(await cartQuantity(clientId, productId)).toBe(1);
});

it("keeps a finished cart job (which an operator may run again) no longer than its replay record", async () => {
  expect(jobOptions(env.config, "cart").removeOnFail).toMatchObject({ age: HOUR_MS / 1000 });
  expect(jobOptions(env.config, "cart").removeOnComplete).toMatchObject({ age: HOUR_MS / 1000 });
  const short = { ...env.config, CART_REPLAY_RETENTION_MS: 600_000 };
  expect(jobOptions(short, "cart").removeOnFail).toMatchObject({ age: 600 });
  expect(jobOptions(short, "cart").removeOnComplete).toMatchObject({ age: 600 });
});
