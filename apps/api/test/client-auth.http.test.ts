/**
 * Client authentication with JWT_SECRET set, from outside over HTTP (review findings 4, 5
 * and 14): the rate limiter counts an authenticated client by its token's subject and
 * everyone else by address, so strangers cannot lock a client out; an order is shown only
 * to its owner; tokens must carry exp and iat and be younger than JWT_MAX_AGE_S.
 */
import { createHash, randomUUID } from "node:crypto";
import { SignJWT, type JWTPayload } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keyedOrderId, orderIdKey } from "../src/handlers/order-id";
import { createTestEnv, insertProducts, type TestEnv } from "../../../test/support/env";
import {
  postJson,
  startApi,
  startInProcessWorkers,
  type ApiBody,
  type ApiResponse,
  type InProcessWorkers,
  type RunningApi,
} from "../../../test/support/system";

const JWT_SECRET = "client-auth-test-secret-of-32-characters";
const RATE_LIMIT = 5;

let env: TestEnv;
let workers: InProcessWorkers;
/** JWT on, the default rate limit. */
let api: RunningApi;
/** JWT on, a rate limit a test can reach in a few requests. */
let limited: RunningApi;

beforeAll(async () => {
  env = await createTestEnv({ JWT_SECRET });
  workers = await startInProcessWorkers(env, { WORKER_QUEUES: ["cart", "checkout"] });
  [api, limited] = await Promise.all([startApi(env), startApi(env, { RATE_LIMIT_PER_MINUTE: RATE_LIMIT })]);
});

afterAll(async () => {
  await Promise.all([api?.close(), limited?.close()]);
  await workers?.close();
  await env?.close();
});

const uid = (tag: string) => `${tag}-${randomUUID().slice(0, 8)}`;

function sign(claims: JWTPayload & { sub: string }, options: { iat?: number | false; exp?: string | false } = {}) {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: "HS256" });
  if (options.iat !== false) jwt.setIssuedAt(options.iat);
  if (options.exp !== false) jwt.setExpirationTime(options.exp ?? "5m");
  return jwt.sign(new TextEncoder().encode(JWT_SECRET));
}

const bearer = async (sub: string) => ({ authorization: `Bearer ${await sign({ sub })}` });

async function get(base: string, path: string, headers: Record<string, string> = {}): Promise<ApiResponse> {
  const res = await fetch(`${base}${path}`, { headers });
  return { status: res.status, body: (await res.json()) as ApiBody, headers: res.headers };
}

describe("rate limiting with JWT on (finding 4)", () => {
  it("unauthenticated requests for a client's cart are limited by address and never use up the client's own limit", async () => {
    const bob = uid("bob");
    const statuses: number[] = [];
    for (let i = 0; i < RATE_LIMIT * 3; i++) statuses.push((await get(limited.url, `/cart/${bob}`)).status);
    expect(statuses.slice(0, 1)).toEqual([401]);
    // The address is limited: past the limit the stranger gets 429, not another 401.
    expect(statuses.at(-1)).toBe(429);

    // Bob's own requests, with his token, still pass: his count is his own.
    const headers = await bearer(bob);
    for (let i = 0; i < RATE_LIMIT; i++) {
      const res = await get(limited.url, `/cart/${bob}`, headers);
      expect(res.status, `bob's request ${i + 1}: ${JSON.stringify(res.body)}`).toBe(200);
    }
    // And his limit is enforced on him.
    const over = await get(limited.url, `/cart/${bob}`, headers);
    expect(over.status).toBe(429);
    expect(Number(over.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
  });

  it("a valid token for another client counts against the token's subject, not the client named in the URL", async () => {
    const carol = uid("carol");
    const mallory = await bearer(uid("mallory"));
    for (let i = 0; i < RATE_LIMIT * 2; i++) {
      const res = await get(limited.url, `/cart/${carol}`, mallory);
      expect([403, 429]).toContain(res.status);
    }
    expect((await get(limited.url, `/cart/${carol}`, await bearer(carol))).status).toBe(200);
  });
});

/** A completed order of a fresh client, bought through the API with the client's token. */
async function completedOrder(idempotencyKey?: string): Promise<{ client: string; orderId: string }> {
  const client = uid("owner");
  const productID = uid("p");
  await insertProducts(env.db, [{ id: productID, quantity: 5, priceCents: 300 }]);
  const headers = await bearer(client);
  const added = await postJson(`${api.url}/addToCart`, { clientID: client, productID, quantity: 1 }, headers);
  expect(added.status, JSON.stringify(added.body)).toBe(200);
  const done = await postJson(
    `${api.url}/checkOutCart`,
    { clientID: client, paymentToken: "tok_ok" },
    {
      ...headers,
      ...(idempotencyKey ? { "Idempotency-Key": idempotencyKey } : {}),
    },
  );
  expect(done.status, JSON.stringify(done.body)).toBe(200);
  return { client, orderId: String(done.body.orderId) };
}

describe("GET /orders/:orderId with JWT on (finding 5)", () => {
  it("shows an order to its owner only; everyone else gets the same 404 as an unknown order", async () => {
    const { client, orderId } = await completedOrder();
    const own = await get(api.url, `/orders/${orderId}`, await bearer(client));
    expect(own.status).toBe(200);
    expect(own.body.order).toMatchObject({ orderId, clientID: client, state: "completed" });

    const unknown = await get(api.url, `/orders/${randomUUID()}`, await bearer(client));
    expect(unknown.status).toBe(404);
    const expired = await sign({ sub: client }, { exp: "-1m" });
    const forged = await new SignJWT({ sub: client })
      .setProtectedHeader({ alg: "HS256" })
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(new TextEncoder().encode("another-secret-of-at-least-32-characters"));
    for (const headers of [
      {},
      await bearer(uid("stranger")),
      { authorization: `Bearer ${expired}` },
      { authorization: `Bearer ${forged}` },
      { authorization: "Bearer not-a-jwt" },
    ]) {
      const res = await get(api.url, `/orders/${orderId}`, headers);
      expect(res.status, JSON.stringify(headers)).toBe(404);
      // Indistinguishable from an order that does not exist: nothing of the order, no challenge.
      expect(res.body).toEqual({ status: "Failed", error: `unknown order ${orderId}`, code: "NOT_FOUND" });
      expect(res.headers.get("www-authenticate")).toBeNull();
    }
  });

  it("derives a keyed order id with a server secret, not from the client and key alone", async () => {
    const key = uid("key");
    const { client, orderId } = await completedOrder(key);
    const hash = createHash("sha256").update(`${client}\n${key}`).digest("hex");
    expect(orderId.replaceAll("-", "").slice(0, 8)).not.toBe(hash.slice(0, 8));
    expect(orderId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    // It is the HMAC under the key this server derives from its secret; another secret, another id.
    expect(keyedOrderId(orderIdKey(JWT_SECRET), client, key)).toBe(orderId);
    expect(keyedOrderId(orderIdKey(`${JWT_SECRET}-rotated`), client, key)).not.toBe(orderId);
  });
});

describe("token lifetime (finding 14)", () => {
  it("refuses a token without exp, without iat, or issued longer ago than JWT_MAX_AGE_S, even if exp is far off", async () => {
    const client = uid("dana");
    const now = Math.floor(Date.now() / 1000);
    const tokens = {
      "no exp": await sign({ sub: client }, { exp: false }),
      "no iat": await sign({ sub: client }, { iat: false }),
      "issued 2 h ago, exp in a year": await sign({ sub: client }, { iat: now - 7_200, exp: "365d" }),
    };
    for (const [what, token] of Object.entries(tokens)) {
      const res = await get(api.url, `/cart/${client}`, { authorization: `Bearer ${token}` });
      expect(res.status, what).toBe(401);
      expect(res.headers.get("www-authenticate"), what).toMatch(/invalid_token/);
      expect(res.body.error, what).toMatch(/exp and iat, issued at most 3600 s ago/);
    }
    const fresh = await get(api.url, `/cart/${client}`, { authorization: `Bearer ${await sign({ sub: client })}` });
    expect(fresh.status).toBe(200);
  });
});
