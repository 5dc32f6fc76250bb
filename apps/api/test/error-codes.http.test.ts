/**
 * Every kind of error the API answers, over HTTP: each body keeps the original envelope
 * (`status: "Failed"`, a message in `error`) and adds the machine-readable `code`, whose
 * HTTP status is the one the map in @oms/shared gives it.
 */
import { randomUUID } from "node:crypto";
import { SignJWT } from "jose";
import { afterAll, afterEach, beforeAll, expect, it, vi } from "vitest";
import { HTTP_STATUS, type ErrorCode } from "@oms/shared";
import { createTestEnv, insertProducts, type TestEnv } from "../../../test/support/env";
import {
  addToCartOk,
  postJson,
  startApi,
  startInProcessWorkers,
  type ApiResponse,
  type InProcessWorkers,
  type RunningApi,
} from "../../../test/support/system";

const ADMIN_TOKEN = "error-codes-admin-token";
const JWT_SECRET = "error-codes-test-secret-of-32-characters";

let env: TestEnv;
let api: RunningApi;
let jwtApi: RunningApi;
let workers: InProcessWorkers;

beforeAll(async () => {
  env = await createTestEnv({ ADMIN_TOKEN });
  [api, jwtApi, workers] = await Promise.all([
    startApi(env, { MAX_BODY_BYTES: 1024 }),
    startApi(env, { JWT_SECRET, RATE_LIMIT_PER_MINUTE: 2 }),
    startInProcessWorkers(env),
  ]);
});

afterEach(() => {
  vi.restoreAllMocks();
});

afterAll(async () => {
  await jwtApi?.close();
  await api?.close();
  await workers?.close();
  await env?.close();
});

const uid = (tag: string) => `${tag}-${randomUUID().slice(0, 8)}`;

function expectCode(res: ApiResponse, code: ErrorCode): void {
  const where = JSON.stringify(res.body);
  expect(res.status, where).toBe(HTTP_STATUS[code]);
  expect(res.body.status, where).toBe("Failed");
  expect(typeof res.body.error === "string" && res.body.error.length > 0, where).toBe(true);
  expect(res.body.code, where).toBe(code);
}

async function raw(url: string, init: RequestInit): Promise<ApiResponse> {
  const res = await fetch(url, init);
  return { status: res.status, body: (await res.json()) as ApiResponse["body"], headers: res.headers };
}

const sign = (sub: string) =>
  new SignJWT({ sub })
    .setProtectedHeader({ alg: "HS256" })
    .setIssuedAt()
    .setExpirationTime("5m")
    .sign(new TextEncoder().encode(JWT_SECRET));

it("client errors: bad JSON, wrong types, unknown ids and routes, size and media type", async () => {
  const json = { "content-type": "application/json" };
  expectCode(await raw(`${api.url}/addToCart`, { method: "POST", headers: json, body: "{" }), "INVALID_INPUT");
  expectCode(await postJson(`${api.url}/addToCart`, { clientID: 1, productID: "p", quantity: "x" }), "INVALID_INPUT");
  expectCode(
    await postJson(`${api.url}/addToCart`, { clientID: uid("c"), productID: uid("p"), quantity: 1 }),
    "NOT_FOUND",
  );
  expectCode(await raw(`${api.url}/no/such/route`, {}), "NOT_FOUND");
  expectCode(await raw(`${api.url}/orders/${randomUUID()}`, {}), "NOT_FOUND");
  expectCode(
    await postJson(`${api.url}/addToCart`, JSON.stringify({ clientID: "c".repeat(2_000) })),
    "PAYLOAD_TOO_LARGE",
  );
  expectCode(
    await raw(`${api.url}/addToCart`, { method: "POST", headers: { "content-type": "text/plain" }, body: "x" }),
    "UNSUPPORTED_MEDIA_TYPE",
  );
});

it("business outcomes: sold out, empty cart, declined payment, a reused Idempotency-Key", async () => {
  const productID = uid("p");
  await insertProducts(env.db, [{ id: productID, quantity: 1 }]);
  const client = uid("c");
  expectCode(
    await postJson(`${api.url}/addToCart`, { clientID: client, productID, quantity: 5 }),
    "INSUFFICIENT_STOCK",
  );
  expectCode(await postJson(`${api.url}/checkOutCart`, { clientID: client, paymentToken: "tok_ok" }), "EMPTY_CART");

  await addToCartOk(api.url, client, productID, 1);
  const declined = await postJson(`${api.url}/checkOutCart`, { clientID: client, paymentToken: "tok_decline" });
  expectCode(declined, "PAYMENT_DECLINED");

  const key = { "Idempotency-Key": uid("k") };
  await postJson(`${api.url}/checkOutCart`, { clientID: client, paymentToken: "tok_decline" }, key);
  const reused = await postJson(`${api.url}/checkOutCart`, { clientID: client, paymentToken: "tok_ok" }, key);
  expectCode(reused, "IDEMPOTENCY_MISMATCH");
});

it("guards: missing and foreign tokens, the rate limit, the admin bearer", async () => {
  const client = uid("c");
  expectCode(await raw(`${jwtApi.url}/cart/${client}`, {}), "UNAUTHORIZED");
  const other = { authorization: `Bearer ${await sign(uid("other"))}` };
  expectCode(await raw(`${jwtApi.url}/cart/${client}`, { headers: other }), "FORBIDDEN");
  const own = { authorization: `Bearer ${await sign(client)}` };
  let last: ApiResponse | undefined;
  for (let i = 0; i < 4; i++) last = await raw(`${jwtApi.url}/cart/${client}`, { headers: own });
  expectCode(last as ApiResponse, "RATE_LIMITED");
  expectCode(await postJson(`${api.url}/admin/products/${uid("p")}/restock`, { add: 1 }), "UNAUTHORIZED");
  const board = `${api.url}${api.deps.config.BULL_BOARD_PATH}`;
  expectCode(await raw(board, {}), "UNAUTHORIZED");
  const admin = { authorization: `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString("base64")}` };
  expectCode(
    await raw(`${board}/api/queues/pause`, {
      method: "PUT",
      headers: { ...admin, origin: "https://elsewhere.example" },
    }),
    "FORBIDDEN",
  );
});

it("infrastructure: a Redis that refuses is a 503 DEPENDENCY_UNAVAILABLE, an unexpected error a 500 INTERNAL", async () => {
  const productID = uid("p");
  await insertProducts(env.db, [{ id: productID, quantity: 5 }]);
  vi.spyOn(api.deps.queues.cart, "add").mockRejectedValue(new Error("Connection is closed."));
  const down = await postJson(`${api.url}/addToCart`, { clientID: uid("c"), productID, quantity: 1 });
  expectCode(down, "DEPENDENCY_UNAVAILABLE");
  expect(down.headers.get("retry-after")).toMatch(/^\d+$/);

  vi.spyOn(api.deps.engine, "available").mockRejectedValue(new Error("boom"));
  expectCode(await raw(`${api.url}/products`, {}), "INTERNAL");
});

it("the OpenAPI document declares code in the error schema, with every code the map knows", async () => {
  const spec = (await (await fetch(`${api.url}/openapi.json`)).json()) as {
    components: { schemas: { Failed: { required?: string[]; properties: { code: { enum: string[] } } } } };
  };
  const failed = spec.components.schemas.Failed;
  expect(failed.required).toContain("code");
  expect(failed.properties.code.enum.sort()).toEqual(Object.keys(HTTP_STATUS).sort());
});
