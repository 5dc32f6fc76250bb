/**
 * A stock change in flight and the reconciler, side by side. A restock commits MySQL and
 * then moves the cached level; a decrease takes from the cache first and then commits.
 * The reconciler repairs a drift it sees twice, 500 ms apart. An API process that stalls
 * longer than that between its two halves (a GC pause, a slow Redis, a starved CPU) was
 * "repaired" by the reconciler and then applied its own half too: the cache stood above
 * MySQL, and a checkout could sell units that do not exist. While a change of a product
 * is in flight the reconciler leaves that product alone; a half that comes after its
 * change expired is dropped (the cache stays low, and the reconciler raises it).
 */
import { randomUUID } from "node:crypto";
import { expect, it } from "vitest";
import { insertProducts, type TestEnv } from "../../../test/support/env";
import { postJson, type InProcessWorkers, type RunningApi } from "../../../test/support/system";
import { reconcileStock } from "../../workers/src/inventory/reconcile";
import { sleep } from "../../../test/support/invariants";
import { useSystem } from "../../../test/support/fixture";

let env: TestEnv;
let api: RunningApi;
let workers: InProcessWorkers;
const admin = "stock-change-admin-token-0123456789";

useSystem({ ADMIN_TOKEN: admin }, (system) => ({ env, api, workers } = system), { apiFirst: true });

/** Makes the API's cache half after a commit (a move that ends its change) wait `ms` first: the stall. */
function stallCacheWrites(ms: number): () => void {
  const changes = api.deps.engine.stockChanges;
  const original = changes.move.bind(changes);
  changes.move = async (...args: Parameters<typeof original>) => {
    if (args[2]?.end) await sleep(ms);
    return original(...args);
  };
  return () => {
    changes.move = original;
  };
}

async function cachedLevel(productId: string): Promise<number> {
  return Number(await env.redis.get(env.keys.stock(productId)));
}

async function mysqlLevel(productId: string): Promise<number> {
  const row = (await env.db("product_details").where({ product_id: productId }).first("quantity")) as {
    quantity: number;
  };
  return row.quantity;
}

/** Runs the reconciler (as the workers' scheduled job does) again and again for `ms`. */
async function reconcileFor(ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) await reconcileStock(workers.deps.db, workers.deps.engine, workers.deps.logger);
}

it("a restock whose cache half stalls is never counted twice by the reconciler", async () => {
  const productId = `sc-${randomUUID().slice(0, 8)}`;
  await insertProducts(env.db, [{ id: productId, quantity: 10, priceCents: 100 }]);
  await workers.deps.engine.load([productId]);
  expect(await cachedLevel(productId)).toBe(10);

  const restore = stallCacheWrites(1_500);
  try {
    const [res] = await Promise.all([
      postJson(`${api.url}/admin/products/${productId}/restock`, { add: 5 }, { authorization: `Bearer ${admin}` }),
      reconcileFor(1_200),
    ]);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  } finally {
    restore();
  }
  // No later reconcile here: it would hide a cache that stood above MySQL meanwhile.
  expect(await mysqlLevel(productId)).toBe(15);
  expect(await cachedLevel(productId)).toBe(15);
});

it("a decrease whose MySQL commit stalls never leaves the cache above MySQL", async () => {
  const productId = `sd-${randomUUID().slice(0, 8)}`;
  await insertProducts(env.db, [{ id: productId, quantity: 10, priceCents: 100 }]);
  await workers.deps.engine.load([productId]);

  // Another transaction holds the product's row: the restock takes the 6 units from the
  // cache at once, then waits for the row before it can commit.
  let release = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  const locker = env.db.transaction(async (trx) => {
    await trx("product_details").where({ product_id: productId }).forUpdate().first();
    await held;
  });
  await sleep(100);
  const restock = postJson(
    `${api.url}/admin/products/${productId}/restock`,
    { set: 4 },
    { authorization: `Bearer ${admin}` },
  );
  await reconcileFor(2_000);
  release();
  await locker;
  const res = await restock;
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(await mysqlLevel(productId)).toBe(4);
  expect(await cachedLevel(productId)).toBe(4);
});
