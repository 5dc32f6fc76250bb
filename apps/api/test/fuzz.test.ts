/**
 * Bad input, fuzzed. Property-based tests (fast-check) send every route malformed JSON,
 * wrong content types, wrong JSON types, huge/negative/fractional numbers, over-long ids,
 * unicode (emoji, RTL, combining marks, lone surrogates), control characters, SQL and
 * Lua/Redis metacharacters, path traversal and percent-encoded garbage, deeply nested and
 * oversized bodies, duplicated keys and prototype-pollution keys.
 *
 * Every generated request is invalid by construction, and each property asserts: a 4xx
 * (never a 5xx), an answer within REQUEST_TIMEOUT_MS, a JSON body {status: "Failed",
 * error} with no stack trace or file path, an error that names the wrong field (and does
 * not call a field that was sent "required"), no polluted Object.prototype, and no change
 * to MySQL (row counts and checksums) or to the stock cache in Redis across the run.
 * Inputs that are hostile but valid (SQL in a clientID, an unknown product) are kept apart
 * in their own property: they answer 200/404/409 and must not change anything either.
 *
 * Requests go through node:http, not fetch: fetch would normalise `..` segments, refuse
 * some headers and always pick a content type. Replay a failure with FUZZ_SEED (and the
 * path fast-check prints); FUZZ_RUNS changes the runs per property.
 */
import { request, type OutgoingHttpHeaders } from "node:http";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, deflateSync, gzipSync } from "node:zlib";
import fc, { type Arbitrary } from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestEnv, insertProducts, scanAll, type TestEnv } from "../../../test/support/env";
import {
  getJson,
  postJson,
  startApi,
  startInProcessWorkers,
  type InProcessWorkers,
  type RunningApi,
} from "../../../test/support/system";

const SEED = Number(process.env.FUZZ_SEED ?? 20_260_611);
const RUNS = Number(process.env.FUZZ_RUNS ?? 100);
/** A request without an answer by then is a hang, and fails the property. */
const REQUEST_TIMEOUT_MS = 10_000;
const MAX_BODY_BYTES = 16_384;
const ADMIN_TOKEN = "fuzz-admin-token-0123456789abcdef";
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

const P1 = "fz-p1";
const P2 = "fz-p2";
const P3 = "fz-p3";
const STOCK = 50;
const BUYER = "fz-buyer";
const SHOPPER = "fz-shopper";

let env: TestEnv;
let api: RunningApi;
let workers: InProcessWorkers;
let port = 0;

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
  expect((await postJson(`${api.url}/addToCart`, { clientID: SHOPPER, productID: P2, quantity: 1 })).status).toBe(200);
  // Loads every level into the cache: a later read must find nothing left to load.
  expect((await getJson(`${api.url}/products?limit=500`)).status).toBe(200);
  await settle();
}, 60_000);

afterAll(async () => {
  await api?.close();
  await workers?.close();
  await env?.close();
});

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
async function unchanged(run: () => Promise<void>): Promise<void> {
  const before = await snapshot();
  await run();
  expect(await snapshot()).toEqual(before);
}

// ---------------------------------------------------------------- requests

type Headers = Record<string, string | string[]>;

/** What the API must answer. */
interface Verdict {
  label: string;
  status: readonly number[];
  /** Each must match the error message: the field or problem it names. */
  mentions: readonly RegExp[];
  /** Fields that were sent but are wrong: the message must not call them "required". */
  present?: readonly string[];
}

interface FuzzRequest extends Verdict {
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

function send(r: Pick<FuzzRequest, "method" | "path" | "headers" | "body" | "chunked">): Promise<RawResponse> {
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
const LEAK = new RegExp(
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

function parseBody(res: RawResponse, where: string): Record<string, unknown> {
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

function expectNoPollution(where: string): void {
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

async function check(arbitrary: Arbitrary<FuzzRequest>, numRuns = RUNS): Promise<void> {
  await unchanged(() =>
    fc.assert(
      fc.asyncProperty(arbitrary, (r) => expectRejected(r)),
      { seed: SEED, numRuns, interruptAfterTimeLimit: 40_000, markInterruptAsFailure: true },
    ),
  );
}

// ---------------------------------------------------------------- building blocks

const json = (value: unknown): string => JSON.stringify(value);

/** A JSON object from [key, raw JSON value] entries; keys may repeat. */
function object(entries: ReadonlyArray<readonly [string, string]>): string {
  return `{${entries.map(([k, v]) => `${json(k)}:${v}`).join(",")}}`;
}

/** Percent-encodes every byte of the UTF-8 form except the unreserved characters. */
function enc(text: string): string {
  let out = "";
  for (const byte of Buffer.from(text, "utf8")) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

const HOSTILE = [
  // SQL
  "' OR 1=1 --",
  "' OR '1'='1",
  "'; DROP TABLE product_details; --",
  '" OR ""="',
  "1; SELECT SLEEP(20)",
  "' UNION SELECT * FROM payments --",
  "%' AND 1=0 --",
  "\\",
  "`",
  "admin'--",
  "0x27",
  // Lua / Redis
  "{",
  "}",
  "*",
  "?",
  "[",
  "]",
  "[a-z]*",
  "{fz}:stock:*",
  "EVAL",
  "EVAL \"return redis.call('FLUSHALL')\" 0",
  "KEYS *",
  "]]..os.exit()..[[",
  "\r\nFLUSHALL\r\n",
  "\n",
  "$-1",
  "*1\r\n$4\r\nPING",
  // unicode
  "😀",
  "👩‍👩‍👧‍👦",
  "\u202eevil",
  "שלום",
  "مرحبا",
  "e\u0301\u0301\u0301",
  "Z\u0364\u0354\u0367\u0311\u0313a\u0308\u0356\u032d",
  "\ufeff",
  "\u200b",
  "\ud800",
  "\udfff",
  "a\ud83d",
  "𝕏",
  "ﷺ",
  "\u0000",
  "\u0085",
  "\u2028",
  // paths, templates
  "../../etc/passwd",
  "..\\..\\windows\\win.ini",
  "%2e%2e%2f",
  "/",
  "${jndi:ldap://x}",
  "{{7*7}}",
  "%s%n%x",
  "__proto__",
  "constructor",
];

const CONTROL = [
  ...Array.from({ length: 0x20 }, (_, i) => String.fromCharCode(i)),
  "\u007f",
  ...Array.from({ length: 0x20 }, (_, i) => String.fromCharCode(0x80 + i)),
];
const WHITESPACE = [
  " ",
  "\t",
  "\n",
  "\r\n",
  "\u000b",
  "\u000c",
  "\u00a0",
  "\u1680",
  "\u2000",
  "\u2028",
  "\u2029",
  "\u205f",
  "\u3000",
  "\ufeff",
];
const ODD_CODE_UNITS = ["\ud800", "\udbff", "\udc00", "\udfff", "\u0301", "\u200d", "\u202e", "\ufffd", "\uffff"];

/** Text of every kind: hostile specimens, graphemes, any code point, lone surrogates. */
const text: Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...HOSTILE), weight: 4 },
  { arbitrary: fc.string({ unit: "grapheme", maxLength: 24 }), weight: 2 },
  { arbitrary: fc.string({ unit: "binary", maxLength: 24 }), weight: 1 },
  { arbitrary: fc.string({ unit: fc.constantFrom(...ODD_CODE_UNITS), maxLength: 6 }), weight: 1 },
);

/** Code points, as zod measures a string's length (a lone surrogate counts as one). */
const codePoints = (s: string): number => [...s].length;
/** Longer than `max` code points after trimming (starts and ends with a letter). */
const tooLong = (max: number): Arbitrary<string> =>
  fc.tuple(text, fc.integer({ min: max + 1, max: max * 3 })).map(([s, n]) => {
    let out = `x${s}`;
    while (codePoints(out) < n) out += s.length > 0 ? s : "y";
    return `${out}z`;
  });
const blank: Arbitrary<string> = fc.array(fc.constantFrom(...WHITESPACE), { maxLength: 5 }).map((a) => a.join(""));
/** A control character inside (not at the ends, which trimming would remove). */
const withControl: Arbitrary<string> = fc
  .tuple(text, fc.constantFrom(...CONTROL), text)
  .map(([a, c, b]) => `x${a}${c}${b}z`);

/** Whitespace at either end of an otherwise valid id. */
const padded: Arbitrary<string> = fc
  .tuple(fc.constantFrom(...WHITESPACE.filter((w) => w.length > 0)), fc.boolean())
  .map(([w, before]) => (before ? `${w}id` : `id${w}`));
/** A lone surrogate inside (valid UTF-16 pairs are fine): only a JSON body can carry one. */
const withLoneSurrogate: Arbitrary<string> = fc
  .constantFrom("\ud800", "\udbff", "\udc00", "\udfff")
  .map((u) => `x${u}z`);

/** Ids: 1..100, unpadded, no control characters, well formed. Invalid ones break that by construction. */
const invalidIdText: Arbitrary<string> = fc.oneof(tooLong(100), blank, withControl, padded);

/** Hostile but valid ids: no control characters, 1..100 code units after trimming, well formed. */
const hostileValidId: Arbitrary<string> = text.map((s) => {
  let out = "";
  for (const ch of s.replace(/\p{Cc}/gu, "").replace(/\p{Cs}/gu, "")) {
    if (out.length + ch.length > 98) break;
    out += ch;
  }
  return `~${out}~`;
});

const NUMBER_LITERALS = [
  "1e308",
  "-1e308",
  "1e309",
  "-1e309",
  "1E400",
  "-0",
  "-0.0",
  "0",
  "-1",
  "0.5",
  "-0.5",
  "1.5",
  "2.000001",
  "1e-7",
  "5e-324",
  "9007199254740993",
  "-9007199254740993",
  "18446744073709551616",
  "1000001",
  "100000001",
  "1000000001",
  "1e21",
  "123456789012345678901234567890",
  "1.0",
  "1e2",
];
const numberLiteral: Arbitrary<string> = fc.oneof(
  fc.constantFrom(...NUMBER_LITERALS),
  fc.integer().map(String),
  fc.integer({ min: -(2 ** 53) * 4, max: 2 ** 53 * 4 }).map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
);

const deepArray = fc.integer({ min: 1_000, max: 6_000 }).map((d) => `${"[".repeat(d)}${"]".repeat(d)}`);
const deepObject = fc.integer({ min: 1_000, max: 2_000 }).map((d) => `${'{"a":'.repeat(d)}1${"}".repeat(d)}`);
const deep = fc.oneof(deepArray, deepObject);

const POLLUTING_VALUES = [
  '{"polluted":true}',
  '{"__proto__":{"polluted":true}}',
  '{"constructor":{"prototype":{"polluted":true}}}',
  '{"toString":1}',
  '{"toString":1,"valueOf":1}',
  '{"hasOwnProperty":"x"}',
];
const structural = ["null", "true", "false", "[]", "{}", `["${P1}"]`, `{"id":"${P1}"}`];

/** Raw JSON of the wrong type where a string belongs. */
const notAString: Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...structural), weight: 3 },
  { arbitrary: fc.constantFrom(...POLLUTING_VALUES), weight: 3 },
  { arbitrary: numberLiteral, weight: 2 },
  {
    arbitrary: fc
      .jsonValue({ maxDepth: 2 })
      .filter((v) => typeof v !== "string")
      .map(json),
    weight: 1,
  },
  { arbitrary: deep, weight: 1 },
);
/** Raw JSON of the wrong type where a number belongs. */
const notANumber: Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...structural, '"1"', '"1e3"', '"abc"', '""', '"NaN"', '"Infinity"', "[1]"), weight: 3 },
  { arbitrary: fc.constantFrom(...POLLUTING_VALUES), weight: 2 },
  { arbitrary: text.map(json), weight: 2 },
  {
    arbitrary: fc
      .jsonValue({ maxDepth: 2 })
      .filter((v) => typeof v !== "number")
      .map(json),
    weight: 1,
  },
  { arbitrary: deep, weight: 1 },
);

// A URL cannot carry a lone surrogate (encoding makes it U+FFFD), a JSON body can.
const invalidId: Arbitrary<string> = fc.oneof(invalidIdText.map(json), withLoneSurrogate.map(json), notAString);
/** A number literal outside `valid`, or a value of another type. */
const invalidNumber = (valid: (n: number) => boolean): Arbitrary<string> =>
  fc.oneof(
    { arbitrary: numberLiteral.filter((lit) => !valid(JSON.parse(lit) as number)), weight: 3 },
    { arbitrary: notANumber, weight: 2 },
  );
const intIn = (min: number, max: number) => (n: number) => Number.isInteger(n) && n >= min && n <= max;

const PAYMENT_TOKEN_CHARS = /[A-Za-z0-9_.:-]/;
const invalidPaymentToken: Arbitrary<string> = fc.oneof(
  fc.constant('""'),
  fc
    .tuple(fc.stringMatching(/^[A-Za-z0-9_.:-]{0,20}$/), text, fc.stringMatching(/^[A-Za-z0-9_.:-]{0,20}$/))
    .filter(([, s]) => [...s].some((c) => !PAYMENT_TOKEN_CHARS.test(c)))
    .map(([a, s, b]) => json(`${a}${s}${b}`)),
  fc.integer({ min: 201, max: 600 }).map((n) => json("t".repeat(n))),
  notAString,
);
const invalidProductName: Arbitrary<string> = fc.oneof(tooLong(255).map(json), blank.map(json), notAString);

// ---------------------------------------------------------------- request bodies

interface FieldSpec {
  name: string;
  required: boolean;
  valid: Arbitrary<string>;
  invalid: Arbitrary<string>;
}

interface RouteSpec {
  /** The fields an empty object body must name. */
  requiredMentions: readonly RegExp[];
  fields: readonly FieldSpec[];
  /** A valid body, for requests refused before the body is looked at. */
  validBody: string;
}

const validIdJson = fc.stringMatching(/^fz-[a-z0-9]{1,12}$/).map(json);
const knownProduct = fc.constantFrom(P1, P2, P3).map(json);

const ADD_TO_CART: RouteSpec = {
  requiredMentions: [/clientID is required/, /productID is required/, /quantity is required/],
  fields: [
    { name: "clientID", required: true, valid: validIdJson, invalid: invalidId },
    { name: "productID", required: true, valid: fc.oneof(knownProduct, validIdJson), invalid: invalidId },
    {
      name: "quantity",
      required: true,
      valid: fc.integer({ min: 1, max: 3 }).map(String),
      invalid: invalidNumber(intIn(1, 1_000_000)),
    },
  ],
  validBody: object([
    ["clientID", json("fz-wellformed")],
    ["productID", json(P1)],
    ["quantity", "1"],
  ]),
};

const CHECKOUT: RouteSpec = {
  requiredMentions: [/clientID is required/],
  fields: [
    { name: "clientID", required: true, valid: validIdJson, invalid: invalidId },
    { name: "paymentToken", required: false, valid: fc.constant(json("tok_ok")), invalid: invalidPaymentToken },
  ],
  validBody: object([
    ["clientID", json("fz-wellformed")],
    ["paymentToken", json("tok_ok")],
  ]),
};

const UPSERT: RouteSpec = {
  requiredMentions: [
    /productID is required/,
    /productName is required/,
    /priceCents is required/,
    /quantity is required/,
  ],
  fields: [
    { name: "productID", required: true, valid: validIdJson, invalid: invalidId },
    { name: "productName", required: true, valid: fc.constant(json("Fuzzed")), invalid: invalidProductName },
    {
      name: "priceCents",
      required: true,
      valid: fc.integer({ min: 0, max: 10_000 }).map(String),
      invalid: invalidNumber(intIn(0, 100_000_000)),
    },
    {
      name: "quantity",
      required: true,
      valid: fc.integer({ min: 0, max: 10_000 }).map(String),
      invalid: invalidNumber(intIn(0, 1_000_000_000)),
    },
  ],
  validBody: object([
    ["productID", json("fz-new-product")],
    ["productName", json("New")],
    ["priceCents", "100"],
    ["quantity", "1"],
  ]),
};

/** Keys a body may carry besides its fields: prototype-pollution attempts and junk. */
const extraEntries = (fieldNames: readonly string[]): Arbitrary<Array<[string, string]>> =>
  fc.array(
    fc.oneof(
      fc.constantFrom<[string, string]>(
        ["__proto__", '{"polluted":true,"isAdmin":true,"quantity":1,"clientID":"fz-proto"}'],
        ["__proto__", "null"],
        ["constructor", '{"prototype":{"polluted":true}}'],
        ["prototype", '{"polluted":true}'],
        ["toString", '"x"'],
        ["valueOf", "1"],
        ["hasOwnProperty", "1"],
      ),
      fc
        .tuple(
          text.filter((k) => !fieldNames.includes(k)),
          fc.jsonValue({ maxDepth: 2 }),
        )
        .map(([k, v]): [string, string] => [k, json(v)]),
    ),
    { maxLength: 3 },
  );

interface BodyVerdict extends Verdict {
  headers: Headers;
  body?: string | Buffer;
}

const JSON_TYPES = [
  "application/json",
  "application/json; charset=utf-8",
  "Application/JSON",
  "application/json;charset=UTF-8",
];
const jsonHeaders = fc.constantFrom(...JSON_TYPES).map((ct): Headers => ({ "content-type": ct }));

/** A body past the limit answers 413 whatever else is wrong with it. */
function sized(v: BodyVerdict): BodyVerdict {
  if (v.body === undefined || Buffer.byteLength(v.body) <= MAX_BODY_BYTES || v.headers["content-encoding"]) return v;
  return { ...v, label: `${v.label}, oversized`, status: [413], mentions: [/too large/i], present: [] };
}

type FieldMode = "valid" | "invalid" | "missing" | "duplicate";

/** Bodies with at least one wrong, missing or duplicated (last value wrong) field. */
function fieldBodies(spec: RouteSpec): Arbitrary<BodyVerdict> {
  const perField = spec.fields.map((f) =>
    fc.record({
      mode: fc.constantFrom<FieldMode>("valid", "invalid", "missing", "duplicate"),
      good: f.valid,
      bad: f.invalid,
    }),
  );
  const names = spec.fields.map((f) => f.name);
  return fc
    .tuple(fc.tuple(...perField), extraEntries(names), fc.boolean(), jsonHeaders)
    .filter(([choices]) =>
      choices.some(
        (c, i) => c.mode === "invalid" || c.mode === "duplicate" || (c.mode === "missing" && spec.fields[i]?.required),
      ),
    )
    .map(([choices, extras, extrasFirst, headers]) => {
      const entries: Array<[string, string]> = [];
      const wrong: string[] = [];
      const present: string[] = [];
      choices.forEach((c, i) => {
        const field = spec.fields[i] as FieldSpec;
        if (c.mode === "valid") entries.push([field.name, c.good]);
        if (c.mode === "invalid") entries.push([field.name, c.bad]);
        if (c.mode === "duplicate") entries.push([field.name, c.good], [field.name, c.bad]);
        if (c.mode === "invalid" || c.mode === "duplicate") {
          wrong.push(field.name);
          present.push(field.name);
        }
        if (c.mode === "missing" && field.required) wrong.push(field.name);
      });
      const all = extrasFirst ? [...extras, ...entries] : [...entries, ...extras];
      return sized({
        label: `fields ${choices.map((c, i) => `${spec.fields[i]?.name}:${c.mode}`).join(",")}`,
        headers,
        body: object(all),
        status: [400],
        mentions: wrong.map((name) => new RegExp(`\\b${name}\\b`)),
        present,
      });
    });
}

/** Valid JSON that is not an object with the fields: arrays, {} and deep nesting. */
function shapeBodies(spec: RouteSpec): Arbitrary<BodyVerdict> {
  const notAnObject = fc
    .oneof(
      fc.constantFrom("[]", "[{}]", `[${spec.validBody}]`, `[${spec.validBody},${spec.validBody}]`, "[null]"),
      deepArray,
    )
    .map((body) => ({ body, label: "a JSON array", status: [400], mentions: [/JSON object/] }));
  const empty = fc
    .oneof(fc.constantFrom("{}", "", "{ }", '{"":""}', '{"__proto__":{}}'), deepObject)
    .map((body) => ({ body, label: "no fields", status: [400], mentions: spec.requiredMentions }));
  return fc
    .tuple(fc.oneof(notAnObject, empty), jsonHeaders)
    .map(([v, headers]) => sized({ ...v, headers, present: [] }));
}

const WRONG_TYPES = [
  "text/plain",
  "text/plain; charset=utf-8",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=fuzzboundary",
  "application/xml",
  "text/json",
  "text/html",
  "application/jsonp",
  "application/json-patch+json",
  "application/vnd.api+json",
  "application/ld+json",
  "application/octet-stream",
  "image/png",
];

/** A well-formed request in every other respect, with a content type that is not JSON (or none). */
function wrongContentTypes(spec: RouteSpec): Arbitrary<BodyVerdict> {
  const form = "clientID=fz-form&productID=fz-p1&quantity=1&productName=x&priceCents=1&paymentToken=tok_ok";
  const multipart = [
    "--fuzzboundary",
    'Content-Disposition: form-data; name="clientID"',
    "",
    "fz-form",
    "--fuzzboundary--",
    "",
  ].join("\r\n");
  return fc
    .tuple(
      fc.option(fc.constantFrom(...WRONG_TYPES), { nil: undefined }),
      fc.constantFrom(spec.validBody, form, multipart, ""),
    )
    .map(([type, body]): BodyVerdict => ({
      label: `content type ${type ?? "(none)"}`,
      headers: type === undefined ? {} : { "content-type": type },
      ...(body === "" && type === undefined ? {} : { body }),
      status: [415],
      mentions: [/Content-Type/],
    }));
}

/** Bodies the JSON parser refuses, on any route: checked before routing, auth or content type. */
const MALFORMED_SEEDS = [
  '{"clientID":"fz-a","productID":"fz-p1","quantity":1}',
  '{"clientID":"fz-a","paymentToken":"tok_ok"}',
  '{"productID":"fz-a","productName":"n","priceCents":1,"quantity":1}',
  '{"add":1}',
  '{"set":0}',
];
function isMalformed(body: string): boolean {
  if (body.length === 0) return false; // an empty body is {}
  if (!/^[\s]*[[{]/.test(body)) return true; // strict: only objects and arrays
  try {
    JSON.parse(body);
    return false;
  } catch {
    return true;
  }
}
const malformedJson: Arbitrary<string> = fc
  .oneof(
    fc.tuple(fc.constantFrom(...MALFORMED_SEEDS), fc.nat()).map(([s, n]) => s.slice(0, n % s.length)),
    fc.constantFrom(...MALFORMED_SEEDS).map((s) => `${s.slice(0, -1)},}`),
    fc.constantFrom(...MALFORMED_SEEDS).map((s) => s.replaceAll('"', "'")),
    fc.constantFrom(...MALFORMED_SEEDS).map((s) => s.replace(/:(\d+)/, ":NaN")),
    fc.constantFrom(...MALFORMED_SEEDS).map((s) => s.replace(/"(\w+)":/g, "$1:")),
    fc.constantFrom(...MALFORMED_SEEDS).map((s) => `${s}${s}`),
    fc.constantFrom(
      "{",
      "}",
      "[",
      "{,}",
      "[1,]",
      '{"quantity":Infinity}',
      '{"quantity":-Infinity}',
      '{"quantity":+1}',
      '{"quantity":01}',
      '{"quantity":.5}',
      '{"quantity":1.}',
      '{"quantity":0x10}',
      '{"quantity":1e}',
      '{"quantity":undefined}',
      '{"clientID":"a\u0001b"}',
      '{"clientID":"\\x41"}',
      '{"clientID":"\\u12"}',
      '{"clientID":"\\ud800}',
      "{/* comment */}",
      '{"a":1 // comment\n}',
      "{'clientID':'fz'}",
      '{"clientID" "fz"}',
      "{True: None}",
      "NaN",
      "1",
      "-0",
      '"just a string"',
      "null",
      "true",
      "   ",
      "\u0000",
      "\ufeff\ufeff{}",
      `${"[".repeat(2_000)}${"]".repeat(1_999)}`,
    ),
    fc.tuple(text, deep).map(([s, d]) => `${d.slice(0, Math.max(1, d.length - 1))}${s}`),
    fc.string({ unit: "binary", maxLength: 60 }),
  )
  .filter(isMalformed);

const compress = (encoding: string, data: string): Buffer =>
  encoding === "gzip" ? gzipSync(data) : encoding === "deflate" ? deflateSync(data) : brotliCompressSync(data);
/**
 * Compressed bodies that do not decompress: a truncated stream (no encoding accepts one), or
 * random bytes behind a header byte gzip and zlib refuse. (Random bytes alone can be a
 * complete stream: 0x06 is an empty brotli stream.)
 */
const corruptStream: Arbitrary<[string, Buffer]> = fc.oneof(
  fc
    .tuple(fc.constantFrom("gzip", "deflate", "br"), fc.constantFrom(...MALFORMED_SEEDS), fc.nat())
    .map(([encoding, seed, cut]): [string, Buffer] => {
      const full = compress(encoding, seed);
      return [encoding, full.subarray(0, 1 + (cut % (full.length - 1)))];
    }),
  fc
    .tuple(fc.constantFrom("gzip", "deflate"), fc.uint8Array({ maxLength: 64 }))
    .map(([encoding, bytes]): [string, Buffer] => [encoding, Buffer.concat([Buffer.from([0]), bytes])]),
);

const parserBodies: Arbitrary<BodyVerdict> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.tuple(malformedJson, jsonHeaders).map(([body, headers]) => ({
      label: "malformed JSON",
      headers,
      body,
      status: [400],
      mentions: [/JSON/],
    })),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        fc.integer({ min: MAX_BODY_BYTES + 1, max: MAX_BODY_BYTES * 4 }),
        fc.constantFrom("string", "array", "deep"),
        fc.boolean(),
      )
      .map(([size, shape, chunked]) => {
        const body =
          shape === "string"
            ? `{"clientID":"${"x".repeat(size)}"}`
            : shape === "array"
              ? `[${"1,".repeat(size / 2)}1]`
              : `${"[".repeat(size)}${"]".repeat(size)}`;
        return {
          label: `oversized ${shape}${chunked ? " chunked" : ""}`,
          headers: { "content-type": "application/json" },
          body,
          chunked,
          status: [413],
          mentions: [/too large/i],
        };
      }),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom("latin1", "iso-8859-1", "us-ascii", "windows-1252", "koi8-r", "shift_jis", "x-bogus", "utf8")
      .map((charset) => ({
        label: `charset ${charset}`,
        headers: { "content-type": `application/json; charset=${charset}` },
        body: "{}",
        status: [415],
        mentions: [/encoding|charset/i],
      })),
  },
  {
    weight: 2,
    arbitrary: corruptStream.map(([encoding, body]) => ({
      label: `corrupt ${encoding} stream`,
      headers: { "content-type": "application/json", "content-encoding": encoding },
      body,
      status: [400, 415],
      mentions: [/encoding/i],
    })),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.constantFrom("gzip", "deflate", "br"), malformedJson).map(([encoding, text]) => ({
      label: `${encoding} of malformed JSON`,
      headers: { "content-type": "application/json", "content-encoding": encoding },
      body: compress(encoding, text),
      status: [400],
      mentions: [/JSON/],
    })),
  },
  {
    weight: 1,
    arbitrary: fc.integer({ min: MAX_BODY_BYTES + 1, max: 1_000_000 }).map((size) => ({
      label: "gzip bomb",
      headers: { "content-type": "application/json", "content-encoding": "gzip" },
      body: gzipSync(`{"clientID":"${" ".repeat(size)}"}`),
      status: [413],
      mentions: [/too large/i],
    })),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom("compress", "x-gzip", "gzip, br", "zstd", "identity, gzip").map((encoding) => ({
      label: `content encoding ${encoding}`,
      headers: { "content-type": "application/json", "content-encoding": encoding },
      body: "{}",
      status: [415],
      mentions: [/encoding/i],
    })),
  },
);

// ---------------------------------------------------------------- headers and paths

const AUTH_OK: Headers = { authorization: `Bearer ${ADMIN_TOKEN}` };
const latin1 = fc.string({
  unit: fc
    .integer({ min: 0x20, max: 0xff })
    .filter((c) => c !== 0x7f)
    .map((c) => String.fromCharCode(c)),
  maxLength: 40,
});
/** Authorization headers that are not the admin's bearer token. */
const badAuth: Arbitrary<Headers> = fc
  .oneof(
    fc.constant<Headers>({}),
    fc
      .constantFrom(
        "",
        "Bearer",
        `bearer ${ADMIN_TOKEN}`,
        `Bearer  ${ADMIN_TOKEN}`,
        `Bearer ${ADMIN_TOKEN}x`,
        `Bearer ${ADMIN_TOKEN.slice(0, -1)}`,
        `Bearer ${ADMIN_TOKEN.toUpperCase()}`,
        `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString("base64")}`,
        `Token ${ADMIN_TOKEN}`,
        ADMIN_TOKEN,
        "Bearer ' OR 1=1 --",
        "Bearer *",
        "Bearer null",
      )
      .map((authorization): Headers => ({ authorization })),
    latin1.map((v): Headers => ({ authorization: `Bearer ${v}` })),
  )
  .filter((h) => String(h.authorization ?? "").trim() !== `Bearer ${ADMIN_TOKEN}`);
const UNAUTHORIZED: Omit<Verdict, "label"> = { status: [401], mentions: [/token/i] };

const visibleAscii = fc.stringMatching(/^[\x21-\x7e]{0,30}$/);
/** Idempotency-Key values outside 1..255 visible ASCII characters. */
const badIdempotencyKey: Arbitrary<string | string[]> = fc.oneof(
  fc.constant(""),
  fc.integer({ min: 256, max: 600 }).map((n) => "k".repeat(n)),
  fc
    .tuple(visibleAscii, fc.constantFrom(" ", "\t", "\u0080", "\u00e9", "\u00ff", "  "), visibleAscii)
    .map(([a, bad, b]) => `k${a}${bad}${b}k`),
  fc.tuple(visibleAscii, visibleAscii).map(([a, b]) => [`a${a}`, `b${b}`]),
);

/** Percent-encoding that does not decode: truncated, non-hex, overlong, surrogates. */
const PERCENT_GARBAGE = [
  "%",
  "%%",
  "%E0%A4%A",
  "%ZZ",
  "%ED%A0%80",
  "%C0%AF",
  "%FF",
  "%F0%9F%98",
  "%u0041",
  "%2",
  "%C2",
];
const percentGarbage: Arbitrary<string> = fc
  .tuple(text, fc.constantFrom(...PERCENT_GARBAGE), text)
  .map(([a, g, b]) => `${enc(a)}~${g}~${enc(b)}`);
const PERCENT: Omit<Verdict, "label"> = { status: [400], mentions: [/percent|encod|URL|path/i] };

/** A path segment that is not a valid id, and what the API must say about it. */
const invalidIdSegment = (field: string): Arbitrary<{ segment: string } & Verdict> =>
  fc
    .oneof(
      { weight: 3, arbitrary: invalidIdText.filter((s) => s.length > 0) },
      { weight: 1, arbitrary: fc.constantFrom("%20", "%09", "%0A", "%C2%A0%E2%80%A8", "%00", "%7F", "%C2%85") },
    )
    .map((s) =>
      s.startsWith("%")
        ? { segment: s, label: `${field} ${s}`, status: [400], mentions: [new RegExp(field)] }
        : { segment: enc(s), label: `invalid ${field}`, status: [400], mentions: [new RegExp(field)] },
    );
const garbageSegment: Arbitrary<{ segment: string } & Verdict> = percentGarbage.map((segment) => ({
  segment,
  label: "percent garbage",
  ...PERCENT,
}));

/** Junk after the path, which these routes ignore. */
const junkQuery = fc.option(
  text.map((s) => `?x=${enc(s)}&__proto__[polluted]=1&limit=${enc(s)}`),
  { nil: "" },
);

// ---------------------------------------------------------------- properties

describe("fuzz: invalid input gets a 4xx naming the problem, quickly, and changes nothing", () => {
  it("every route: bodies the JSON parser refuses (malformed, oversized, bad charset or encoding)", async () => {
    const routes = fc.constantFrom(
      ["POST", "/addToCart"],
      ["POST", "/checkOutCart"],
      ["GET", `/cart/${BUYER}`],
      ["GET", "/products?limit=5"],
      ["GET", `/products/${P1}`],
      ["GET", "/orders/not-a-uuid"],
      ["GET", `/clients/${BUYER}/orders`],
      ["POST", "/admin/products"],
      ["POST", `/admin/products/${P1}/restock`],
      ["POST", "/admin/jobs/cart/retry-failed"],
      ["POST", "/admin/reconcile"],
      ["POST", "/admin/queues/api/queues/cart/retry/failed"],
      ["PUT", "/nowhere"],
      ["DELETE", "/addToCart"],
      ["PATCH", "/products"],
    );
    await check(
      fc.tuple(routes, parserBodies, fc.boolean()).map(([[method, path], v, admin]) => ({
        ...v,
        method,
        path,
        headers: { ...v.headers, ...(admin ? AUTH_OK : {}) },
      })),
      RUNS + 50,
    );
  });

  it("POST /addToCart: wrong content types, wrong fields, wrong shapes", async () => {
    const body = fc.oneof(
      { weight: 6, arbitrary: fieldBodies(ADD_TO_CART) },
      { weight: 2, arbitrary: shapeBodies(ADD_TO_CART) },
      { weight: 2, arbitrary: wrongContentTypes(ADD_TO_CART) },
    );
    await check(body.map((v) => ({ ...v, method: "POST", path: "/addToCart" })));
  });

  it("POST /checkOutCart: wrong content types, wrong fields, wrong shapes, bad Idempotency-Key", async () => {
    const idempotencyKey = fc.stringMatching(/^[A-Za-z0-9]{8,32}$/);
    let serial = 0;
    const body = fc.oneof(
      { weight: 5, arbitrary: fieldBodies(CHECKOUT) },
      { weight: 2, arbitrary: shapeBodies(CHECKOUT) },
      { weight: 2, arbitrary: wrongContentTypes(CHECKOUT) },
    );
    const invalidBody = fc.tuple(body, fc.option(idempotencyKey, { nil: undefined })).map(([v, key]) => ({
      ...v,
      // A valid key stores the 400, and replays it: each request gets its own key.
      headers: key === undefined ? v.headers : { ...v.headers, "idempotency-key": `${key}-${serial++}` },
    }));
    const badKey = fc.tuple(badIdempotencyKey, jsonHeaders).map(([key, headers]) => ({
      label: "bad Idempotency-Key",
      headers: { ...headers, "idempotency-key": key },
      body: CHECKOUT.validBody,
      status: [400],
      mentions: [/Idempotency-Key/],
    }));
    await check(
      fc.oneof({ weight: 4, arbitrary: invalidBody }, { weight: 1, arbitrary: badKey }).map((v) => ({
        ...v,
        method: "POST",
        path: "/checkOutCart",
      })),
    );
  });

  it("GET /cart/:clientID, /clients/:clientID/orders, /products/:productID: ids that are not ids", async () => {
    const routes = fc.constantFrom(
      { field: "clientID", path: (id: string) => `/cart/${id}` },
      { field: "clientID", path: (id: string) => `/clients/${id}/orders` },
      { field: "productID", path: (id: string) => `/products/${id}` },
    );
    await check(
      routes.chain((route) =>
        fc
          .tuple(fc.oneof({ weight: 4, arbitrary: invalidIdSegment(route.field) }, garbageSegment), junkQuery)
          .map(([v, query]) => ({ ...v, method: "GET", path: `${route.path(v.segment)}${query}`, headers: {} })),
      ),
    );
  });

  it("GET /orders/:orderId: anything that is not a UUID", async () => {
    // What z.uuid() accepts (RFC 9562, nil and max), so that none of these is one.
    const UUID =
      /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}|0{8}-0{4}-0{4}-0{4}-0{12}|f{8}-f{4}-f{4}-f{4}-f{12})$/i;
    const notUuid = fc
      .oneof(
        text,
        invalidIdText,
        fc.uuid().map((u) => u.slice(1)),
        fc.uuid().map((u) => `${u}0`),
        fc.uuid().map((u) => u.replace(/-/g, "")),
        fc.uuid().map((u) => `{${u}}`),
        fc.uuid().map((u) => `${u}' OR 1=1 --`),
        fc.uuid().map((u) => `${u.slice(0, 14)}g${u.slice(15)}`),
      )
      .filter((s) => s.length > 0 && !UUID.test(s.trim()));
    const segment = fc.oneof(
      {
        weight: 4,
        arbitrary: notUuid.map((s) => ({ segment: enc(s), label: "not a UUID", status: [400], mentions: [/orderId/] })),
      },
      { weight: 1, arbitrary: garbageSegment },
    );
    await check(
      fc.tuple(segment, junkQuery).map(([v, query]) => ({
        ...v,
        method: "GET",
        path: `/orders/${v.segment}${query}`,
        headers: {},
      })),
    );
  });

  it("GET /products: a limit out of range and a cursor this listing did not give out", async () => {
    const number = (text: string) => Number(text);
    const validLimit = (s: string) => Number.isSafeInteger(number(s)) && number(s) >= 1 && number(s) <= 500;
    // No made-up text is a cursor: a real one is base64url JSON naming the listing and a key.
    const validCursor = () => false;
    const candidates = fc.oneof(
      fc.constantFrom("", "0", "-1", "501", "1.5", "abc", "1e999", "NaN", "Infinity", "-Infinity", "1e20", "10abc"),
      fc.constantFrom("١٠", "0x", "1_0", "' OR 1=1 --", "1;DROP TABLE product_details", "*", "{}", "[]", "%ZZ"),
      text,
      numberLiteral,
    );
    type Param = { raw: string; wrong: boolean; present: boolean };
    const param = (valid: (s: string) => boolean): Arbitrary<Param> =>
      fc.oneof(
        fc.constant<Param>({ raw: "", wrong: false, present: false }),
        fc.integer({ min: 1, max: 5 }).map((n) => ({ raw: String(n), wrong: !valid(String(n)), present: true })),
        candidates.filter((s) => !valid(s)).map((s) => ({ raw: s === "%ZZ" ? s : enc(s), wrong: true, present: true })),
        fc.tuple(fc.nat(10), fc.nat(10)).map(([a, b]) => ({ raw: `${a}&__REPEAT__=${b}`, wrong: true, present: true })),
      );
    await check(
      fc
        .tuple(param(validLimit), param(validCursor), fc.boolean())
        .filter(([limit, cursor]) => limit.wrong || cursor.wrong)
        .map(([limit, cursor, cursorFirst]) => {
          const parts: string[] = [];
          if (limit.present) parts.push(`limit=${limit.raw.replace("__REPEAT__", "limit")}`);
          if (cursor.present) parts.push(`cursor=${cursor.raw.replace("__REPEAT__", "cursor")}`);
          if (cursorFirst) parts.reverse();
          const wrong = [...(limit.wrong ? ["limit"] : []), ...(cursor.wrong ? ["cursor"] : [])];
          return {
            label: `query ${wrong.join(",")}`,
            method: "GET",
            path: `/products?${parts.join("&")}`,
            headers: {},
            status: [400],
            mentions: wrong.map((f) => new RegExp(`\\b${f}\\b`)),
            present: wrong,
          };
        }),
    );
  });

  it("POST /admin/products and /admin/products/:productID/restock: auth, content type, fields", async () => {
    // Exactly one of add and set, each in range, is valid: every mode here breaks that.
    const RESTOCK_MODES = {
      neither: { mentions: [/\badd\b/, /\bset\b/], present: [] },
      "both valid": { mentions: [/\badd\b/, /\bset\b/], present: [] },
      "add wrong": { mentions: [/\badd\b/], present: ["add"] },
      "set wrong": { mentions: [/\bset\b/], present: ["set"] },
      "both wrong": { mentions: [/\badd\b/, /\bset\b/], present: ["add", "set"] },
    } as const;
    const restockBody: Arbitrary<BodyVerdict> = fc
      .tuple(
        fc.constantFrom(...(Object.keys(RESTOCK_MODES) as Array<keyof typeof RESTOCK_MODES>)),
        invalidNumber(intIn(1, 1_000_000_000)),
        invalidNumber(intIn(0, 1_000_000_000)),
        extraEntries(["add", "set"]),
        jsonHeaders,
      )
      .map(([mode, badAdd, badSet, extras, headers]) => {
        const entries: Array<[string, string]> = [...extras];
        if (mode === "both valid") entries.push(["add", "1"], ["set", "1"]);
        if (mode === "add wrong" || mode === "both wrong") entries.push(["add", badAdd]);
        if (mode === "set wrong" || mode === "both wrong") entries.push(["set", badSet]);
        return sized({
          label: `restock ${mode}`,
          headers,
          body: object(entries),
          status: [400],
          ...RESTOCK_MODES[mode],
        });
      });
    const RESTOCK: RouteSpec = {
      requiredMentions: [/\badd\b/],
      fields: [],
      validBody: '{"add":1}',
    };

    type Part = BodyVerdict & { path: string };
    const upsert: Arbitrary<Part> = fc
      .oneof(
        { weight: 5, arbitrary: fieldBodies(UPSERT) },
        { weight: 2, arbitrary: shapeBodies(UPSERT) },
        { weight: 2, arbitrary: wrongContentTypes(UPSERT) },
      )
      .map((v) => ({ ...v, path: "/admin/products" }));
    // A known or unknown (valid) product with a wrong body, or an invalid product id with a valid body.
    const restock: Arbitrary<Part> = fc.oneof(
      {
        weight: 4,
        arbitrary: fc
          .tuple(
            fc.constantFrom(P1, P2, "fz-unknown"),
            fc.oneof({ weight: 4, arbitrary: restockBody }, shapeBodies(RESTOCK), wrongContentTypes(RESTOCK)),
          )
          .map(([id, v]) => ({ ...v, path: `/admin/products/${id}/restock` })),
      },
      {
        weight: 2,
        arbitrary: fc
          .tuple(fc.oneof({ weight: 3, arbitrary: invalidIdSegment("productID") }, garbageSegment), jsonHeaders)
          .map(([v, headers]) => ({
            ...v,
            headers,
            body: RESTOCK.validBody,
            path: `/admin/products/${v.segment}/restock`,
          })),
      },
    );
    const badKey: Arbitrary<Part> = fc
      .tuple(
        badIdempotencyKey,
        fc.constantFrom(
          { path: "/admin/products", body: UPSERT.validBody },
          { path: `/admin/products/${P1}/restock`, body: '{"add":5}' },
          { path: `/admin/products/${P2}/restock`, body: '{"set":0}' },
        ),
      )
      .map(([key, target]) => ({
        label: "bad Idempotency-Key",
        headers: { "content-type": "application/json", "idempotency-key": key },
        body: target.body,
        path: target.path,
        status: [400],
        mentions: [/Idempotency-Key/],
      }));
    const authorized = fc.oneof({ weight: 3, arbitrary: upsert }, { weight: 3, arbitrary: restock }, badKey);
    await check(
      fc
        .tuple(authorized, fc.oneof({ weight: 4, arbitrary: fc.constant<Headers | null>(null) }, badAuth))
        .map(([v, auth]): FuzzRequest => {
          const request = { ...v, method: "POST", headers: { ...v.headers, ...(auth ?? AUTH_OK) } };
          // Without the token the request stops at the door (unless the parser refused the body first).
          const parserRefused = v.status.includes(413);
          return auth === null || parserRefused
            ? request
            : { ...request, label: `${v.label}, bad auth`, ...UNAUTHORIZED };
        }),
    );
  });

  it("POST /admin/jobs/:queue/retry-failed, /admin/reconcile and the admin reads: auth, queue names, Idempotency-Key", async () => {
    const QUEUES = ["cart", "checkout", "inventory", "events", "webhooks"];
    const unknownQueue = fc.oneof(
      {
        weight: 4,
        arbitrary: fc
          .oneof(
            text,
            fc.constantFrom(
              "CART",
              "Cart",
              "cart ",
              " cart",
              "cart%00",
              "__proto__",
              "constructor",
              "toString",
              "..",
              ".",
            ),
          )
          .filter((q) => q.length > 0 && !QUEUES.includes(q))
          .map((q) => ({
            segment: q === "cart%00" ? q : enc(q),
            label: "unknown queue",
            status: [404],
            mentions: [/queue/],
          })),
      },
      { weight: 1, arbitrary: garbageSegment },
    );
    const retryUnknown = unknownQueue.map((v): FuzzRequest => ({
      ...v,
      method: "POST",
      path: `/admin/jobs/${v.segment}/retry-failed`,
      headers: { ...AUTH_OK },
    }));
    const badKey = fc
      .tuple(
        badIdempotencyKey,
        fc.constantFrom("/admin/reconcile", ...QUEUES.map((q) => `/admin/jobs/${q}/retry-failed`)),
      )
      .map(([key, path]): FuzzRequest => ({
        label: "bad Idempotency-Key",
        method: "POST",
        path,
        headers: { ...AUTH_OK, "idempotency-key": key },
        status: [400],
        mentions: [/Idempotency-Key/],
      }));
    const noToken = fc
      .tuple(
        badAuth,
        fc.constantFrom(
          ["POST", "/admin/reconcile"],
          ["POST", "/admin/jobs/cart/retry-failed"],
          ["POST", "/admin/jobs/checkout/retry-failed"],
          ["GET", "/admin/holds"],
          ["GET", "/admin/flushes"],
          ["POST", "/admin/products"],
          ["DELETE", "/admin/products/fz-p1"],
          ["GET", "/admin/anything/at/all"],
        ),
      )
      .map(([headers, [method, path]]): FuzzRequest => ({
        label: "bad auth",
        method: method as string,
        path: path as string,
        headers,
        ...UNAUTHORIZED,
      }));
    await check(fc.oneof(retryUnknown, badKey, noToken));
  });

  it("unknown paths and methods", async () => {
    const KNOWN = [
      "",
      "addtocart",
      "checkoutcart",
      "cart",
      "products",
      "orders",
      "clients",
      "admin",
      "healthz",
      "readyz",
      "metrics",
      "openapi.json",
      "documentation",
    ];
    const segment = fc.oneof(
      text.map(enc),
      fc.constantFrom("..", ".", "%2e%2e", "%2E%2E%2F", "..%2F..%2Fetc%2Fpasswd", "%00", "%ZZ", "%E0%A4%A", "~"),
    );
    const firstSegment = segment.filter((s) => {
      let decoded = s;
      try {
        decoded = decodeURIComponent(s);
      } catch {
        // stays raw
      }
      return !KNOWN.includes(s.toLowerCase()) && !KNOWN.includes(decoded.toLowerCase());
    });
    const unknownPath = fc
      .tuple(
        firstSegment,
        fc.array(segment, { maxLength: 4 }),
        fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"),
      )
      .map(([first, rest, method]): FuzzRequest => ({
        label: "unknown path",
        method,
        path: `/${[first, ...rest].join("/")}`,
        headers: {},
        status: [404],
        mentions: [/no route/],
      }));
    // Known paths with a method they do not have (HEAD is answered as GET by Express).
    const ROUTES: Array<[string, readonly string[]]> = [
      ["/addToCart", ["POST"]],
      ["/checkOutCart", ["POST"]],
      ["/products", ["GET"]],
      [`/products/${P1}`, ["GET"]],
      [`/cart/${BUYER}`, ["GET", "DELETE"]],
      [`/cart/${BUYER}/items/${P1}`, ["PUT", "DELETE"]],
      [`/clients/${BUYER}/orders`, ["GET"]],
      ["/orders/00000000-0000-4000-8000-000000000000", ["GET"]],
      ["/healthz", ["GET"]],
      ["/readyz", ["GET"]],
      ["/metrics", ["GET"]],
      ["/openapi.json", ["GET"]],
      ["/cart", []],
      ["/clients", []],
      ["/orders", []],
      [`/cart/${BUYER}/extra`, []],
      ["/cart/../admin/reconcile", []],
      ["/products/../../etc/passwd", []],
      ["//addToCart", []],
      ["/addToCart/", ["POST"]],
    ];
    const wrongMethod = fc
      .tuple(
        fc.constantFrom(...ROUTES),
        fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"),
        fc.boolean(),
      )
      .filter(([[, allowed], method]) => !allowed.includes(method))
      .map(([[path], method, withBody]): FuzzRequest => ({
        label: "wrong method",
        method,
        path,
        headers: withBody ? { "content-type": "application/json" } : {},
        ...(withBody ? { body: ADD_TO_CART.validBody } : {}),
        status: [404],
        mentions: [/no route/],
      }));
    const adminWrongMethod = fc
      .tuple(
        fc.constantFrom(
          ["GET", "/admin/products"],
          ["GET", "/admin/reconcile"],
          ["PUT", "/admin/reconcile"],
          ["DELETE", `/admin/products/${P1}`],
          ["GET", `/admin/products/${P1}/restock`],
          ["GET", "/admin/jobs/cart/retry-failed"],
          ["POST", "/admin/holds"],
          ["POST", "/admin/flushes"],
          ["PATCH", "/admin"],
          ["GET", "/admin/"],
          ["POST", "/admin/../addToCart"],
        ),
        fc.boolean(),
      )
      .map(([[method, path], authorized]): FuzzRequest => ({
        label: "admin: wrong method",
        method: method as string,
        path: path as string,
        headers: authorized ? { ...AUTH_OK } : {},
        ...(authorized ? { status: [404], mentions: [/no route/] } : UNAUTHORIZED),
      }));
    const board = fc
      .tuple(fc.array(segment, { maxLength: 3 }), fc.constantFrom("GET", "POST", "PUT", "DELETE"), fc.boolean())
      .map(([rest, method, bearer]): FuzzRequest => ({
        label: "Bull Board without credentials",
        method,
        path: `/admin/queues/${rest.join("/")}`,
        headers: bearer ? { ...AUTH_OK } : {},
        status: [401],
        mentions: [/credentials/],
      }));
    await check(
      fc.oneof({ weight: 3, arbitrary: unknownPath }, { weight: 3, arbitrary: wrongMethod }, adminWrongMethod, board),
    );
  });

  it("hostile but valid input (SQL, Lua, unicode ids; unknown products; too many): 200/404/409, nothing stored", async () => {
    type Hostile = {
      label: string;
      method: string;
      path: string;
      headers: Headers;
      body?: string;
      check: (status: number, body: Record<string, unknown>) => void;
    };
    const ok = (extra: (body: Record<string, unknown>) => void) => (status: number, body: Record<string, unknown>) => {
      expect(status).toBe(200);
      expect(body).toMatchObject({ status: "Success", error: "" });
      extra(body);
    };
    const failed = (expected: number, message: RegExp) => (status: number, body: Record<string, unknown>) => {
      expect(status).toBe(expected);
      expect(body.status).toBe("Failed");
      expect(String(body.error)).toMatch(message);
    };
    const unicodeId = fc.oneof(
      hostileValidId,
      text.filter((s) => s.trim() === s && s.length > 0 && s.length <= 100 && !/\p{Cc}|\p{Cs}/u.test(s)),
    );
    // Up to 100 characters of up to 4 UTF-8 bytes: as many as varchar(100) holds.
    const astralId = fc
      .array(fc.constantFrom("😀", "𝕏", "👍🏽", "ﷺ", "e\u0301", "a"), { minLength: 1, maxLength: 50 })
      .map((parts) => [...parts.join("")].slice(0, 100).join(""))
      .filter((s) => !/\p{Cs}/u.test(s));
    const requests: Arbitrary<Hostile> = fc.oneof(
      astralId.map((id) => ({
        label: "cart of a clientID of up to 100 astral characters",
        method: "GET",
        path: `/cart/${enc(id)}`,
        headers: {},
        check: ok((b) => expect(b).toMatchObject({ clientID: id, items: [], totalCents: 0 })),
      })),
      hostileValidId.map((id) => ({
        label: "cart of a hostile clientID",
        method: "GET",
        path: `/cart/${enc(id)}`,
        headers: {},
        check: ok((b) => expect(b).toMatchObject({ clientID: id, items: [], totalCents: 0 })),
      })),
      hostileValidId.map((id) => ({
        label: "orders of a hostile clientID",
        method: "GET",
        path: `/clients/${enc(id)}/orders`,
        headers: {},
        check: ok((b) => expect(b).toMatchObject({ clientID: id, orders: [] })),
      })),
      hostileValidId.map((id) => ({
        label: "a hostile productID",
        method: "GET",
        path: `/products/${enc(id)}`,
        headers: {},
        check: failed(404, /unknown product/),
      })),
      fc.uuid({ version: 4 }).map((id) => ({
        label: "an unknown order",
        method: "GET",
        path: `/orders/${id}`,
        headers: {},
        check: failed(404, /unknown order/),
      })),
      fc.nat().map((tail) => ({
        label: "a page past the end",
        method: "GET",
        // A cursor after every id the catalog can hold (U+10FFFF sorts last in utf8mb4_bin).
        path: `/products?limit=500&cursor=${Buffer.from(JSON.stringify({ l: "products", k: [`\u{10FFFF}${tail}`] })).toString("base64url")}`,
        headers: {},
        check: ok((b) => expect(b).toEqual({ status: "Success", error: "", products: [], limit: 500 })),
      })),
      fc.tuple(unicodeId, unicodeId, fc.integer({ min: 1, max: 1_000_000 })).map(([clientID, productID, quantity]) => ({
        label: "add an unknown product",
        method: "POST",
        path: "/addToCart",
        headers: { "content-type": "application/json" },
        body: json({ clientID, productID: `~${productID}`, quantity }),
        check: failed(404, /unknown product/),
      })),
      fc
        .tuple(unicodeId, fc.constantFrom(P1, P2, P3), fc.integer({ min: STOCK + 1, max: 1_000_000 }))
        .map(([clientID, productID, quantity]) => ({
          label: "add more than the stock",
          method: "POST",
          path: "/addToCart",
          headers: { "content-type": "application/json" },
          body: json({ clientID, productID, quantity }),
          check: failed(409, /stock/),
        })),
      hostileValidId.map((id) => ({
        label: "restock an unknown product",
        method: "POST",
        path: `/admin/products/${enc(id)}/restock`,
        headers: { "content-type": "application/json", ...AUTH_OK },
        body: '{"add":1}',
        check: failed(404, /unknown product/),
      })),
    );
    await unchanged(() =>
      fc.assert(
        fc.asyncProperty(requests, async (r) => {
          const where = `[${r.label}] ${r.method} ${r.path.slice(0, 160)} ${String(r.body ?? "").slice(0, 160)}`;
          const res = await send(r);
          expect(res.status, `${where}: ${res.text.slice(0, 200)}`).toBeLessThan(500);
          const body = parseBody(res, where);
          expect(res.text, `${where}: leaks internals`).not.toMatch(LEAK);
          r.check(res.status, body);
          expectNoPollution(where);
        }),
        { seed: SEED, numRuns: RUNS, interruptAfterTimeLimit: 40_000, markInterruptAsFailure: true },
      ),
    );
  });
});
