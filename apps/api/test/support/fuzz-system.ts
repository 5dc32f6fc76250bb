/**
 * The system a fuzz suite runs against (not a test file itself). Each fuzz file
 * (apps/api/test/fuzz-*.test.ts) starts its own API and in-process workers on its own
 * database and key prefix, with a little history in every table; `unchanged` asserts that
 * a run leaves MySQL (row counts and checksums) and the stock cache in Redis as they were.
 * Replay a failure with FUZZ_SEED (and the path fast-check prints); FUZZ_RUNS changes the
 * runs per property. fuzz-requests.ts sends the requests and checks the answers.
 */
import { afterAll, beforeAll, expect } from "vitest";
import { createTestEnv, insertProducts, scanAll, type TestEnv } from "../../../../test/support/env";
import { getJson, postJson, startApi, startInProcessWorkers } from "../../../../test/support/system";
import type { InProcessWorkers, RunningApi } from "../../../../test/support/system";

export const SEED = Number(process.env.FUZZ_SEED ?? 20_260_611);
export const RUNS = Number(process.env.FUZZ_RUNS ?? 100);
export const MAX_BODY_BYTES = 16_384;
export const ADMIN_TOKEN = "fuzz-admin-token-0123456789abcdef";

export const P1 = "fz-p1";
export const P2 = "fz-p2";
export const P3 = "fz-p3";
export const STOCK = 50;
export const BUYER = "fz-buyer";
const SHOPPER = "fz-shopper";

let env: TestEnv;
let api: RunningApi;
let workers: InProcessWorkers;
/** The API's port, for requests sent through node:http. */
export let port = 0;

/** Starts this file's API and workers, with a little history, and stops them after its tests. */
export function setUpFuzzSystem(): void {
  beforeAll(async () => {
    console.info(`fuzz: fast-check seed ${SEED} (set FUZZ_SEED to replay), ${RUNS} runs per property`);
    env = await createTestEnv({
      ADMIN_TOKEN,
      RATE_LIMIT_PER_MINUTE: "0",
      CART_TIMEOUT_MS: "4000",
      CHECKOUT_TIMEOUT_MS: "5000",
      MAX_BODY_BYTES: String(MAX_BODY_BYTES),
      FLUSH_INTERVAL_MS: "200",
    });
    workers = await startInProcessWorkers(env);
    api = await startApi(env);
    port = Number(new URL(api.url).port);

    await insertProducts(env.db, [
      { id: P1, name: "Fuzz one", quantity: STOCK, priceCents: 250 },
      { id: P2, name: "Fuzz two", quantity: STOCK, priceCents: 1_000 },
      { id: P3, name: "Fuzz three", quantity: STOCK, priceCents: 99 },
    ]);
    // Some history, so that the checksums cover rows in every table.
    expect((await postJson(`${api.url}/addToCart`, { clientID: BUYER, productID: P1, quantity: 2 })).status).toBe(200);
    expect((await postJson(`${api.url}/checkOutCart`, { clientID: BUYER, paymentToken: "tok_ok" })).status).toBe(200);
    expect((await postJson(`${api.url}/addToCart`, { clientID: SHOPPER, productID: P2, quantity: 1 })).status).toBe(
      200,
    );
    // Loads every level into the cache: a later read must find nothing left to load.
    expect((await getJson(`${api.url}/products?limit=500`)).status).toBe(200);
    await settle();
  }, 60_000);

  afterAll(async () => {
    await api?.close();
    await workers?.close();
    await env?.close();
  });
}

const TABLES = [
  "product_details",
  "client_cart",
  "orders",
  "order_items",
  "payments",
  "reserve_purchase",
  "cart_operations",
] as const;

/** Keys of the stock cache, holds and cart copies (not queues, stats or stored idempotent answers). */
const STATE_KEY = /^(?:stock:|hold:|cartcopy:)|^(?:holds:expiry|held|epoch:\d+)$/;

type Snapshot = Record<string, unknown>;

async function snapshot(): Promise<Snapshot> {
  const state: Snapshot = {};
  for (const table of TABLES) {
    const [rows] = (await env.db.raw("CHECKSUM TABLE ??", [table])) as [Array<{ Checksum: number | string | null }>];
    const count = (await env.db(table).count({ n: "*" }).first()) as { n: number | string };
    state[`mysql:${table}`] = { rows: Number(count.n), checksum: String(rows[0]?.Checksum) };
  }
  const keys = await scanAll(env.redis, env.keys.allKeysPattern);
  // What follows the hash tag (`{tag}:<kind>:...`) says what a key is.
  for (const key of keys.filter((k) => STATE_KEY.test(k.slice(k.indexOf("}") + 2))).sort()) {
    const type = await env.redis.type(key);
    if (type === "string") state[key] = await env.redis.get(key);
    else if (type === "hash") state[key] = sortedEntries(await env.redis.hgetall(key));
    else if (type === "zset") state[key] = await env.redis.zrange(key, 0, -1, "WITHSCORES");
    else if (type === "set") state[key] = (await env.redis.smembers(key)).sort();
    else if (type === "list") state[key] = await env.redis.lrange(key, 0, -1);
    else state[key] = type;
  }
  return state;
}

function sortedEntries(record: Record<string, string>): Array<[string, string]> {
  return Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Waits until the set-up checkout is flushed and the state holds still. */
async function settle(): Promise<void> {
  const deadline = Date.now() + 20_000;
  let previous = JSON.stringify(await snapshot());
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 400));
    const pending = (await env.db("reserve_purchase").count({ n: "*" }).first()) as { n: number | string };
    const current = JSON.stringify(await snapshot());
    if (Number(pending.n) === 0 && current === previous) return;
    previous = current;
  }
  throw new Error("the state did not settle after the set-up checkout");
}

/** Runs a property and asserts that MySQL and the stock cache are the same afterwards. */
export async function unchanged(run: () => Promise<void>): Promise<void> {
  const before = await snapshot();
  await run();
  expect(await snapshot()).toEqual(before);
}
