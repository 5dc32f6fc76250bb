/**
 * An admin level change may not take a product below what is already spoken for
 * (units sold and not flushed, plus units held by checkouts under way), and one
 * product whose flush must be refused never holds back the others (review finding 2:
 * `{"set":0}` under a held checkout answered 200, the order then completed against a
 * level of 0, and every later flush failed for every product).
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { flushReservations } from "@oms/workers";
import { createTestEnv, insertProducts, type TestEnv } from "../../../test/support/env";
import {
  addToCartOk,
  getJson,
  postJson,
  startApi,
  startInProcessWorkers,
  type InProcessWorkers,
  type RunningApi,
} from "../../../test/support/system";
import { assertConservation, eventually } from "../../../test/support/invariants";

const ADMIN_TOKEN = "admin-token-for-restock-tests";
const ADMIN = { authorization: `Bearer ${ADMIN_TOKEN}` };

let env: TestEnv;
let api: RunningApi;
let workers: InProcessWorkers;

const uid = () => randomUUID().slice(0, 8);

beforeAll(async () => {
  // tok_error fails twice before it succeeds; a slow back-off keeps the hold live for
  // long enough to change the level under it.
  env = await createTestEnv({ ADMIN_TOKEN, JOB_BACKOFF_MS: "400", PAYMENT_SIM_TRANSIENT_FAILURES: "2" });
  workers = await startInProcessWorkers(env);
  api = await startApi(env);
});

afterAll(async () => {
  await api?.close();
  await workers?.close();
  await env?.close();
});

const addToCart = (clientID: string, productID: string, quantity: number) =>
  addToCartOk(api.url, clientID, productID, quantity);

const restock = (productID: string, body: unknown) =>
  postJson(`${api.url}/admin/products/${productID}/restock`, body, ADMIN);

async function mysqlQuantity(productId: string, db = env.db): Promise<number> {
  const row = (await db("product_details").where({ product_id: productId }).first("quantity")) as {
    quantity: number;
  };
  return Number(row.quantity);
}

async function orderState(orderId: string): Promise<string | undefined> {
  const res = await getJson<{ order?: { state: string } }>(`${api.url}/orders/${orderId}`);
  return res.body.order?.state;
}

describe("admin level changes under held stock", () => {
  it("refuses a set below the units held by a checkout under way, and the order then completes and flushes", async () => {
    const client = `c-${uid()}`;
    const p = `p-${uid()}`;
    await insertProducts(env.db, [{ id: p, quantity: 10, priceCents: 100 }]);
    await addToCart(client, p, 10);
    const accepted = await postJson(
      `${api.url}/checkOutCart`,
      { clientID: client, paymentToken: "tok_error" },
      { prefer: "respond-async" },
    );
    expect(accepted.status).toBe(202);
    const orderId = accepted.body.orderId as string;
    const held = env.keys.held(env.keys.shardOf(p));
    await eventually("the hold", async () => ((await env.redis.hget(held, p)) === "10" ? true : undefined));

    const refused = await restock(p, { set: 0 });
    expect(refused.status, JSON.stringify(refused.body)).toBe(409);
    expect(refused.body.error).toMatch(/held|below/);
    const lowered = await restock(p, { add: -1 }).catch(() => null);
    expect(lowered?.status).toBe(400); // add is a positive restock; only set lowers a level
    const upsert = await postJson(
      `${api.url}/admin/products`,
      { productID: p, productName: p, priceCents: 100, quantity: 5 },
      ADMIN,
    );
    expect(upsert.status, JSON.stringify(upsert.body)).toBe(409);
    expect(await mysqlQuantity(p)).toBe(10);

    await eventually("the order to complete", async () =>
      (await orderState(orderId)) === "completed" ? true : undefined,
    );
    await assertConservation(env, new Map([[p, 10]]));
    expect(await mysqlQuantity(p)).toBe(0);
  });

  it("allows a set down to exactly what is held, never below", async () => {
    const p = `p-${uid()}`;
    await insertProducts(env.db, [{ id: p, quantity: 10, priceCents: 100 }]);
    await api.deps.engine.load([p]);
    const orderId = randomUUID();
    expect(await api.deps.engine.reserve(orderId, [{ productId: p, quantity: 4 }], 60_000)).toMatchObject({ ok: true });

    expect((await restock(p, { set: 3 })).status).toBe(409);
    expect(await env.redis.get(env.keys.stock(p))).toBe("6");
    const exact = await restock(p, { set: 4 });
    expect(exact.status, JSON.stringify(exact.body)).toBe(200);
    expect(exact.body).toMatchObject({ quantity: 4, available: 0 });
    expect(await env.redis.get(env.keys.stock(p))).toBe("0");
    await api.deps.engine.release(orderId);
    expect(await env.redis.get(env.keys.stock(p))).toBe("4");
  });
});

describe("a flush that must refuse one product", () => {
  // A database of its own, with no workers: the flush below is the only one, so what it
  // refuses and applies is its own work (a worker's scheduled flush holding the rows
  // would make this one skip them and return before that flush commits).
  let quiet: TestEnv;
  beforeAll(async () => {
    quiet = await createTestEnv();
  });
  afterAll(async () => {
    await quiet?.close();
  });

  it("applies every other product's rows and leaves only the refused product's", async () => {
    const [short, fine] = [`p-${uid()}`, `p-${uid()}`];
    await insertProducts(quiet.db, [
      { id: short, quantity: 0 },
      { id: fine, quantity: 10 },
    ]);
    // A level that a direct edit of MySQL (or an older version) took below what was sold.
    const now = Date.now();
    await quiet.db("reserve_purchase").insert([
      { reserve_id: `o-${uid()}`, product_id: short, quantity: 3, created_at: new Date(now - 10) },
      { reserve_id: `o-${uid()}`, product_id: fine, quantity: 4, created_at: new Date(now - 5) },
      { reserve_id: `o-${uid()}`, product_id: fine, quantity: 1, created_at: new Date(now) },
    ]);

    const result = await flushReservations(quiet.db, 1);
    expect(result.refused).toEqual([short]);
    expect(await mysqlQuantity(fine, quiet.db)).toBe(5);
    expect(await mysqlQuantity(short, quiet.db)).toBe(0);
    const left = (await quiet
      .db("reserve_purchase")
      .whereIn("product_id", [short, fine])
      .select("product_id")) as Array<{
      product_id: string;
    }>;
    expect(left.map((r) => r.product_id)).toEqual([short]);
  });
});
