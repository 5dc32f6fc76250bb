/**
 * The system a fuzz suite runs against, and what every property asserts of an answer.
 *
 * Each fuzz file (apps/api/test/fuzz-*.test.ts) starts its own API and in-process workers
 * on its own database and key prefix, with a little history in every table. Every
 * generated request is invalid by construction, and `check` asserts: a 4xx (never a 5xx),
 * an answer within REQUEST_TIMEOUT_MS, a JSON body {status: "Failed", error} with no
 * stack trace or file path, an error that names the wrong field (and does not call a
 * field that was sent "required"), no polluted Object.prototype, and no change to MySQL
 * (row counts and checksums) or to the stock cache in Redis across the run.
 *
 * Requests go through node:http, not fetch: fetch would normalise `..` segments, refuse
 * some headers and always pick a content type. Replay a failure with FUZZ_SEED (and the
 * path fast-check prints); FUZZ_RUNS changes the runs per property.
 */
import { request, type OutgoingHttpHeaders } from "node:http";
import { fileURLToPath } from "node:url";
import fc, { type Arbitrary } from "fast-check";
import { afterAll, beforeAll, expect } from "vitest";
import { createTestEnv, insertProducts, scanAll, type TestEnv } from "../../../../test/support/env";
import {
  getJson,
  postJson,
  startApi,
  startInProcessWorkers,
  type InProcessWorkers,
  type RunningApi,
} from "../../../../test/support/system";
export const SEED = Number(process.env.FUZZ_SEED ?? 20_260_611);
export const RUNS = Number(process.env.FUZZ_RUNS ?? 100);
/** A request without an answer by then is a hang, and fails the property. */
const REQUEST_TIMEOUT_MS = 10_000;
export const MAX_BODY_BYTES = 16_384;
export const ADMIN_TOKEN = "fuzz-admin-token-0123456789abcdef";
const ROOT = fileURLToPath(new URL("../../../../", import.meta.url));

export const P1 = "fz-p1";
export const P2 = "fz-p2";
export const P3 = "fz-p3";
export const STOCK = 50;
export const BUYER = "fz-buyer";
const SHOPPER = "fz-shopper";

let env: TestEnv;
let api: RunningApi;
let workers: InProcessWorkers;
let port = 0;

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

// ---------------------------------------------------------------- state

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

// ---------------------------------------------------------------- requests

export type Headers = Record<string, string | string[]>;

/** What the API must answer. */
export interface Verdict {
  label: string;
  status: readonly number[];
  /** Each must match the error message: the field or problem it names. */
  mentions: readonly RegExp[];
  /** Fields that were sent but are wrong: the message must not call them "required". */
  present?: readonly string[];
}

export interface FuzzRequest extends Verdict {
  method: string;
  /** Sent as is (already percent-encoded). */
  path: string;
  headers: Headers;
  body?: string | Buffer;
  /** Send the body with Transfer-Encoding: chunked (no Content-Length). */
  chunked?: boolean;
}

interface RawResponse {
  status: number;
  contentType: string;
  text: string;
}

export function send(r: Pick<FuzzRequest, "method" | "path" | "headers" | "body" | "chunked">): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const headers: OutgoingHttpHeaders = { ...r.headers };
    if (r.chunked) headers["transfer-encoding"] = "chunked";
    // Node's client sends a GET/DELETE/OPTIONS body with neither Content-Length nor chunking.
    else if (r.body !== undefined) headers["content-length"] = String(Buffer.byteLength(r.body));
    const req = request({ host: "127.0.0.1", port, method: r.method, path: r.path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        clearTimeout(timer);
        resolve({
          status: res.statusCode ?? 0,
          contentType: String(res.headers["content-type"] ?? ""),
          text: Buffer.concat(chunks).toString("utf8"),
        });
      });
      res.on("error", reject);
    });
    const timer = setTimeout(
      () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms: a hang`)),
      REQUEST_TIMEOUT_MS,
    );
    req.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    if (r.chunked && r.body !== undefined) {
      const body = Buffer.from(r.body);
      for (let i = 0; i < body.length; i += 4096) req.write(body.subarray(i, i + 4096));
      req.end();
    } else {
      req.end(r.body);
    }
  });
}

/** Server internals that must never reach a client: stack frames, file paths. */
export const LEAK = new RegExp(
  [
    String.raw`\n\s+at\s`,
    String.raw`\bat [\w$.<>]+ \(`,
    "node_modules",
    "node:internal",
    ROOT.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"),
    String.raw`\.[cm]?[jt]s:\d+:\d+`,
  ].join("|"),
);

const PROTOTYPE_KEYS = Object.getOwnPropertyNames(Object.prototype).sort().join(",");

export function parseBody(res: RawResponse, where: string): Record<string, unknown> {
  expect(res.contentType, `${where}: content type`).toMatch(/^application\/json/);
  let body: unknown;
  try {
    body = JSON.parse(res.text);
  } catch {
    throw new Error(`${where}: the body is not JSON: ${res.text.slice(0, 200)}`);
  }
  expect(body !== null && typeof body === "object" && !Array.isArray(body), `${where}: a JSON object`).toBe(true);
  return body as Record<string, unknown>;
}

export function expectNoPollution(where: string): void {
  expect(Object.getOwnPropertyNames(Object.prototype).sort().join(","), `${where}: Object.prototype`).toBe(
    PROTOTYPE_KEYS,
  );
  expect(({} as Record<string, unknown>).polluted, `${where}: Object.prototype.polluted`).toBeUndefined();
}

function describeRequest(r: FuzzRequest): string {
  const body = r.body === undefined ? "" : ` body(${Buffer.byteLength(r.body)} B)=${String(r.body).slice(0, 120)}`;
  return `[${r.label}] ${r.method} ${r.path.slice(0, 160)} ${JSON.stringify(r.headers).slice(0, 200)}${body}`;
}

/** Sends an invalid request and checks the answer against its verdict. */
async function expectRejected(r: FuzzRequest): Promise<void> {
  const where = describeRequest(r);
  const res = await send(r);
  expect(res.status, `${where}: ${res.text.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
  expect(res.status, `${where}: ${res.text.slice(0, 200)}`).toBeLessThan(500);
  expect(r.status, `${where}: status ${res.status}: ${res.text.slice(0, 200)}`).toContain(res.status);
  const body = parseBody(res, where);
  expect(body.status, where).toBe("Failed");
  expect(typeof body.error === "string" && body.error.trim().length > 0, `${where}: a non-empty error`).toBe(true);
  const error = String(body.error);
  expect(res.text, `${where}: leaks internals`).not.toMatch(LEAK);
  for (const mention of r.mentions) expect(error, `${where}: names the problem`).toMatch(mention);
  for (const field of r.present ?? []) {
    expect(error, `${where}: ${field} was sent, so it is not missing`).not.toMatch(
      new RegExp(String.raw`(^|; )${field} is required`),
    );
  }
  expectNoPollution(where);
}

export async function check(arbitrary: Arbitrary<FuzzRequest>, numRuns = RUNS): Promise<void> {
  await unchanged(() =>
    fc.assert(
      fc.asyncProperty(arbitrary, (r) => expectRejected(r)),
      { seed: SEED, numRuns, interruptAfterTimeLimit: 40_000, markInterruptAsFailure: true },
    ),
  );
}
