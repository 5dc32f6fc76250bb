/**
 * Who may use the operator surface, and what it does: the admin API (Bearer ADMIN_TOKEN),
 * Bull Board (HTTP Basic: admin, or a read-only viewer), the surface disabled (404) when no
 * admin token is configured, and clients' JWTs (JWT_SECRET) tied to the clientID they act on.
 * Runs against the real Redis and MariaDB with a cart worker in this process.
 */
import { randomUUID } from "node:crypto";
import { SignJWT } from "jose";
import type { Job } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "@oms/shared";
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

const ADMIN_TOKEN = "admin-token-for-operator-tests";
const VIEWER_TOKEN = "viewer-token-for-operator-tests";
const JWT_SECRET = "a-jwt-secret-of-at-least-32-characters!";

let env: TestEnv;
let workers: InProcessWorkers;
/** Admin surface enabled. */
let api: RunningApi;
/** No ADMIN_TOKEN: the admin surface must not exist. */
let disabled: RunningApi;
/** JWT_SECRET set: cart routes need a client token. */
let jwtApi: RunningApi;

beforeAll(async () => {
  env = await createTestEnv({ ADMIN_TOKEN, VIEWER_TOKEN });
  workers = await startInProcessWorkers(env, { WORKER_QUEUES: ["cart"] });
  [api, disabled, jwtApi] = await Promise.all([
    startApi(env),
    startApi(env, { ADMIN_TOKEN: undefined, VIEWER_TOKEN: undefined }),
    startApi(env, { JWT_SECRET }),
  ]);
});

afterAll(async () => {
  await Promise.all([api?.close(), disabled?.close(), jwtApi?.close()]);
  await workers?.close();
  await env?.close();
});

// ---------------------------------------------------------------- helpers

const uid = (tag: string) => `${tag}-${randomUUID()}`;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const basic = (user: string, password: string) => ({
  authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`,
});
const ADMIN = bearer(ADMIN_TOKEN);

async function call(
  base: string,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: unknown } = {},
): Promise<ApiResponse> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(options.body !== undefined ? { "content-type": "application/json" } : {}),
      ...options.headers,
    },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await res.text();
  let body: ApiBody;
  try {
    body = JSON.parse(text) as ApiBody;
  } catch {
    body = { status: "(not JSON)", error: text.slice(0, 200) };
  }
  return { status: res.status, body, headers: res.headers };
}

/** Every route of the admin API, with a body each would accept. */
const ADMIN_ROUTES: Array<{ method: string; path: string; body?: unknown }> = [
  { method: "POST", path: "/admin/products", body: { productID: "p-x", productName: "X", priceCents: 1, quantity: 1 } },
  { method: "POST", path: "/admin/products/p-x/restock", body: { add: 1 } },
  { method: "GET", path: "/admin/holds" },
  { method: "GET", path: "/admin/flushes" },
  { method: "POST", path: "/admin/jobs/cart/retry-failed" },
  { method: "POST", path: "/admin/reconcile" },
];

async function product(quantity: number, priceCents = 250): Promise<string> {
  const id = uid("p");
  await insertProducts(env.db, [{ id, quantity, priceCents }]);
  return id;
}

async function cachedLevel(productId: string): Promise<number | null> {
  const v = await env.redis.get(env.keys.stock(productId));
  return v === null ? null : Number(v);
}

async function shownAvailable(productId: string): Promise<number> {
  const res = await call(api.url, "GET", `/products/${encodeURIComponent(productId)}`);
  expect(res.status).toBe(200);
  return (res.body.product as { available: number }).available;
}

async function cartQuantity(clientId: string, productId: string): Promise<number | undefined> {
  const row = (await env.db("client_cart").where({ client_id: clientId, product_id: productId }).first("quantity")) as
    { quantity: number } | undefined;
  return row?.quantity;
}

/**
 * A cart job the real cart worker fails for good (quantity 0 does not validate; one attempt).
 * The operator's remedy is to correct its data and re-drive it, which is what the tests do.
 */
async function failedCartJob(clientId: string, productId: string): Promise<Job> {
  const job = await api.deps.queues.cart.add(
    "addToCart",
    { type: "addToCart", clientId, productId, quantity: 0 },
    { jobId: uid("bad"), attempts: 1 },
  );
  await waitFor(
    "the invalid job fails",
    () => job.getState(),
    (s) => s === "failed",
    10_000,
  );
  await job.updateData({ type: "addToCart", clientId, productId, quantity: 1 });
  return job;
}

// ---------------------------------------------------------------- admin API authentication

describe("admin API authentication", () => {
  it("refuses every admin route without a token, with a wrong token, and with Basic instead of Bearer (401)", async () => {
    const wrongs: Array<Record<string, string>> = [
      {},
      bearer("wrong-token-wrong-token"),
      bearer(`${ADMIN_TOKEN}x`),
      { authorization: ADMIN_TOKEN },
      basic("admin", ADMIN_TOKEN),
    ];
    for (const route of ADMIN_ROUTES) {
      for (const headers of wrongs) {
        const res = await call(api.url, route.method, route.path, { headers, body: route.body });
        expect(res.status, `${route.method} ${route.path} with ${JSON.stringify(headers)}`).toBe(401);
        expect(res.headers.get("www-authenticate")).toMatch(/^Bearer /);
        expect(res.body.status).toBe("Failed");
      }
    }
    // Nothing was written by the refused calls.
    expect(await env.db("product_details").where({ product_id: "p-x" }).first()).toBeUndefined();
  });

  it("accepts the admin token on the read routes", async () => {
    const holds = await call(api.url, "GET", "/admin/holds", { headers: ADMIN });
    expect(holds.status).toBe(200);
    expect(holds.body).toMatchObject({ status: "Success", count: expect.any(Number), holds: expect.any(Array) });
    const flushes = await call(api.url, "GET", "/admin/flushes", { headers: ADMIN });
    expect(flushes.status).toBe(200);
    expect(flushes.body.products).toEqual(expect.any(Array));
  });

  it("answers 404 on every admin route and on Bull Board when ADMIN_TOKEN is unset, whatever the credentials", async () => {
    const attempts: Array<Record<string, string>> = [{}, ADMIN, basic("admin", ADMIN_TOKEN)];
    const routes = [
      ...ADMIN_ROUTES,
      { method: "GET", path: "/admin/queues" },
      { method: "GET", path: "/admin/queues/api/queues" },
      { method: "PUT", path: "/admin/queues/api/queues/cart/retry/failed" },
      { method: "GET", path: "/admin/anything" },
    ];
    for (const route of routes) {
      for (const headers of attempts) {
        const res = await call(disabled.url, route.method, route.path, { headers, body: route.body });
        expect(res.status, `${route.method} ${route.path} with ${JSON.stringify(headers)}`).toBe(404);
        expect(res.body.error).toMatch(/admin surface is disabled/);
      }
    }
    // The disabled API does not document the admin routes either.
    const spec = (await (await fetch(`${disabled.url}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(spec.paths).filter((p) => p.startsWith("/admin"))).toEqual([]);
    expect(Object.keys(spec.paths)).toContain("/addToCart");
  });
});

// ---------------------------------------------------------------- Bull Board

describe("Bull Board access", () => {
  const board = "/admin/queues";

  it("refuses the board without credentials or with wrong ones (401, Basic challenge)", async () => {
    const wrongs: Array<Record<string, string>> = [
      {},
      basic("admin", "not-the-admin-token"),
      basic("viewer", ADMIN_TOKEN),
      basic("admin", VIEWER_TOKEN),
      basic("root", ADMIN_TOKEN),
      ADMIN,
    ];
    for (const path of [board, `${board}/`, `${board}/api/queues`, `${board}/queue/checkout`]) {
      for (const headers of wrongs) {
        const res = await call(api.url, "GET", path, { headers });
        expect(res.status, `GET ${path} with ${JSON.stringify(headers)}`).toBe(401);
        expect(res.headers.get("www-authenticate")).toMatch(/^Basic realm=/);
      }
    }
  });

  it("lets admin and viewer read the board API, which lists the five queues", async () => {
    for (const [user, password, readOnly] of [
      ["admin", ADMIN_TOKEN, false],
      ["viewer", VIEWER_TOKEN, true],
    ] as const) {
      const res = await fetch(`${api.url}${board}/api/queues`, { headers: basic(user, password) });
      expect(res.status, user).toBe(200);
      const body = (await res.json()) as { queues: Array<{ name: string; readOnlyMode: boolean }> };
      expect(body.queues.map((q) => q.name).sort()).toEqual(["cart", "checkout", "events", "inventory", "webhooks"]);
      expect(
        body.queues.every((q) => q.readOnlyMode === readOnly),
        user,
      ).toBe(true);
    }
  });

  it("serves the board page with its base href at the mount path (or PUBLIC_BASE_PATH + mount), and its assets load", async () => {
    const boardPage = async (base: string, headers: Record<string, string>) => {
      const res = await fetch(`${base}${board}`, { headers });
      expect(res.status).toBe(200);
      const html = await res.text();
      const baseHref = /<base href="([^"]*)"/.exec(html)?.[1];
      const assets = [...html.matchAll(/(?:src|href)="(static\/[^"]+\.(?:js|css))"/g)].map((m) => m[1] ?? "");
      return { baseHref, assets };
    };

    const direct = await boardPage(api.url, basic("viewer", VIEWER_TOKEN));
    expect(direct.baseHref).toBe("/admin/queues/");
    expect(direct.assets.length).toBeGreaterThanOrEqual(2);
    for (const asset of direct.assets) {
      const res = await fetch(new URL(asset, `${api.url}${direct.baseHref}`), {
        headers: basic("viewer", VIEWER_TOKEN),
      });
      expect(res.status, asset).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/javascript|css/);
    }

    // Behind a proxy that adds /shop, the browser resolves assets under /shop/admin/queues/,
    // which the proxy strips back to /admin/queues/.
    const proxied = await startApi(env, { PUBLIC_BASE_PATH: "/shop" });
    try {
      const page = await boardPage(proxied.url, basic("admin", ADMIN_TOKEN));
      expect(page.baseHref).toBe("/shop/admin/queues/");
      for (const asset of page.assets) {
        const seen = new URL(asset, `http://proxy.example${page.baseHref}`).pathname;
        expect(seen.startsWith("/shop/admin/queues/static/")).toBe(true);
        const res = await fetch(`${proxied.url}${seen.slice("/shop".length)}`, {
          headers: basic("admin", ADMIN_TOKEN),
        });
        expect(res.status, seen).toBe(200);
      }
    } finally {
      await proxied.close();
    }
  });

  it("keeps the viewer read-only (403 on retry, clean, empty, pause, remove) while the admin can retry", async () => {
    const clientId = uid("c");
    const productId = await product(10);
    const job = await failedCartJob(clientId, productId);
    const viewer = basic("viewer", VIEWER_TOKEN);
    const writes: Array<[string, string]> = [
      ["PUT", `${board}/api/queues/cart/retry/failed`],
      ["PUT", `${board}/api/queues/cart/clean/failed`],
      ["PUT", `${board}/api/queues/cart/clean/completed`],
      ["PUT", `${board}/api/queues/cart/${job.id}/retry`],
      ["PUT", `${board}/api/queues/cart/${job.id}/clean`],
      ["PUT", `${board}/api/queues/cart/empty`],
      ["PUT", `${board}/api/queues/cart/pause`],
      ["PUT", `${board}/api/queues/pause`],
      ["PUT", `${board}/api/queues/cart/obliterate`],
      ["POST", `${board}/api/queues/cart/add`],
      ["PATCH", `${board}/api/queues/cart/${job.id}/update-data`],
      ["DELETE", `${board}/api/queues/cart/${job.id}`],
    ];
    for (const [method, path] of writes) {
      const res = await call(api.url, method, path, { headers: viewer, body: {} });
      expect(res.status, `${method} ${path} as viewer`).toBe(403);
    }
    expect(await job.getState()).toBe("failed");
    expect(await api.deps.queues.cart.isPaused()).toBe(false);

    const retried = await fetch(`${api.url}${board}/api/queues/cart/retry/failed`, {
      method: "PUT",
      headers: basic("admin", ADMIN_TOKEN),
    });
    expect(retried.status).toBe(200);
    await waitFor(
      "the re-driven job completes",
      () => job.getState(),
      (s) => s === "completed",
      10_000,
    );
    expect(await cartQuantity(clientId, productId)).toBe(1);

    // Bull Board cleans only jobs older than its 5 s grace time; what matters is that the admin may.
    const cleaned = await fetch(`${api.url}${board}/api/queues/cart/clean/completed`, {
      method: "PUT",
      headers: basic("admin", ADMIN_TOKEN),
    });
    expect(cleaned.status).toBe(200);
  });
});

// ---------------------------------------------------------------- Bull Board: other sites, secrets

describe("Bull Board writes from other sites", () => {
  const board = "/admin/queues";
  const ADMIN_BASIC = basic("admin", ADMIN_TOKEN);
  const waitingCheckouts = () => api.deps.queues.checkout.getWaitingCount();

  it("refuses a cross-site form post to the write API (415/403) and adds no job", async () => {
    const before = await waitingCheckouts();
    const form = new URLSearchParams({ name: "forged", data: "{}" }).toString();
    const attempts: Array<{ what: string; headers: Record<string, string>; body: string; status: number }> = [
      {
        what: "form post from another site",
        headers: { "content-type": "application/x-www-form-urlencoded", origin: "http://evil.example" },
        body: form,
        status: 403,
      },
      {
        what: "form post with no Origin",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: form,
        status: 415,
      },
      {
        what: "text/plain post (a form's other encoding)",
        headers: { "content-type": "text/plain" },
        body: JSON.stringify({ name: "forged", data: {} }),
        status: 415,
      },
      {
        what: "JSON from another site",
        headers: { "content-type": "application/json", origin: "http://evil.example" },
        body: JSON.stringify({ name: "forged", data: {} }),
        status: 403,
      },
      {
        what: "JSON whose Referer is another site (no Origin)",
        headers: { "content-type": "application/json", referer: "http://evil.example/page" },
        body: JSON.stringify({ name: "forged", data: {} }),
        status: 403,
      },
      {
        what: "JSON from an opaque origin (a sandboxed frame, a file)",
        headers: { "content-type": "application/json", origin: "null" },
        body: JSON.stringify({ name: "forged", data: {} }),
        status: 403,
      },
      {
        what: "JSON from the same host on another port",
        headers: { "content-type": "application/json", origin: "http://127.0.0.1:1" },
        body: JSON.stringify({ name: "forged", data: {} }),
        status: 403,
      },
    ];
    for (const attempt of attempts) {
      const res = await fetch(`${api.url}${board}/api/queues/checkout/add`, {
        method: "POST",
        headers: { ...ADMIN_BASIC, ...attempt.headers },
        body: attempt.body,
      });
      expect(res.status, attempt.what).toBe(attempt.status);
      const body = (await res.json()) as ApiBody;
      expect(body.error, attempt.what).toMatch(attempt.status === 403 ? /origin|referer/i : /application\/json/);
    }
    // A foreign Origin is refused on the other write methods too.
    const paused = await fetch(`${api.url}${board}/api/queues/checkout/pause`, {
      method: "PUT",
      headers: { ...ADMIN_BASIC, origin: "http://evil.example" },
    });
    expect(paused.status).toBe(403);
    expect(await api.deps.queues.checkout.isPaused()).toBe(false);
    expect(await waitingCheckouts()).toBe(before);
  });

  it("still takes the board's own JSON writes (same origin, or no Origin as from curl)", async () => {
    const before = await waitingCheckouts();
    const sources: Array<Record<string, string>> = [
      { origin: api.url },
      // Behind a trusted (loopback) proxy, the host the browser saw is X-Forwarded-Host.
      { origin: "https://shop.example", "x-forwarded-host": "shop.example" },
      { referer: `${api.url}${board}/queue/checkout` },
      {},
    ];
    for (const headers of sources) {
      const res = await fetch(`${api.url}${board}/api/queues/checkout/add`, {
        method: "POST",
        headers: { ...ADMIN_BASIC, "content-type": "application/json", ...headers },
        body: JSON.stringify({ name: "operator-added", data: { note: "from the board" } }),
      });
      expect(res.status, JSON.stringify(headers)).toBe(200);
      const { job } = (await res.json()) as { job: { id: string } };
      await api.deps.queues.checkout.remove(job.id);
    }
    expect(await waitingCheckouts()).toBe(before);
  });
});

describe("what the board shows", () => {
  const board = "/admin/queues";
  const viewer = basic("viewer", VIEWER_TOKEN);
  const admin = basic("admin", ADMIN_TOKEN);
  const get = async (path: string, headers: Record<string, string>) => {
    const res = await fetch(`${api.url}${board}${path}`, { headers });
    return { status: res.status, text: await res.text(), headers: res.headers };
  };

  it("redacts payment tokens in job data, for viewer and admin alike", async () => {
    const secret = `tok_secret_${randomUUID().slice(0, 8)}`;
    const orderId = randomUUID();
    await api.deps.queues.checkout.add(
      "checkout",
      { type: "checkout", orderId, clientId: uid("c"), paymentToken: secret },
      { jobId: orderId },
    );
    try {
      for (const headers of [viewer, admin]) {
        const list = await get("/api/queues?activeQueue=checkout&status=waiting", headers);
        expect(list.status).toBe(200);
        expect(list.text).toContain(orderId);
        expect(list.text).not.toContain(secret);
        expect(list.text).toContain('"paymentToken":"[redacted]"');
        const one = await get(`/api/queues/checkout/${orderId}`, headers);
        expect(one.status).toBe(200);
        expect(one.text).toContain(orderId);
        expect(one.text).not.toContain(secret);
      }
    } finally {
      await api.deps.queues.checkout.remove(orderId);
    }
  });

  it("sends the viewer no stack traces (the admin keeps them)", async () => {
    const job = await failedCartJob(uid("c"), await product(5));
    const stackLine = /\bat .*[\\/].*:\d+:\d+/;
    try {
      for (const path of ["/api/queues?activeQueue=cart&status=failed", `/api/queues/cart/${job.id}`]) {
        const seen = await get(path, viewer);
        expect(seen.status, path).toBe(200);
        expect(seen.text, path).toContain(String(job.id));
        expect(seen.text, path).not.toMatch(stackLine);
        expect(seen.text, path).not.toContain(process.cwd());
        const asAdmin = await get(path, admin);
        expect(asAdmin.text, path).toMatch(stackLine);
      }
    } finally {
      // Later tests count the queue's failed jobs.
      await job.remove();
    }
  });

  it("shows the viewer no Redis version, OS or port; the admin still sees them", async () => {
    const seen = await get("/api/redis/stats", viewer);
    expect(seen.text).not.toMatch(/"(version|os|port)"/);
    expect(seen.status).toBe(403);
    const asAdmin = await get("/api/redis/stats", admin);
    expect(asAdmin.status).toBe(200);
    expect(asAdmin.text).toMatch(/"version"/);
  });

  it("answers without X-Powered-By anywhere", async () => {
    const paths = ["", "/", "/api/queues", "/api/redis/stats", "/queue/checkout", "/nowhere"];
    for (const headers of [viewer, admin, {}]) {
      for (const path of paths) {
        const res = await get(path, headers);
        expect(res.headers.get("x-powered-by"), `${path} ${JSON.stringify(headers)}`).toBeNull();
      }
    }
    for (const path of ["/healthz", "/products", "/nowhere", "/documentation", "/metrics"]) {
      const res = await fetch(`${api.url}${path}`);
      expect(res.headers.get("x-powered-by"), path).toBeNull();
    }
  });
});

// ---------------------------------------------------------------- admin operations

describe("admin products and restock", () => {
  it("creates a product, updates it, and the cached level follows", async () => {
    const productID = uid("p");
    const created = await call(api.url, "POST", "/admin/products", {
      headers: ADMIN,
      body: { productID, productName: "Tea", priceCents: 450, quantity: 12 },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ status: "Success", productID, quantity: 12, available: 12, created: true });
    expect(await env.db("product_details").where({ product_id: productID }).first()).toMatchObject({
      product_name: "Tea",
      price_cents: 450,
      quantity: 12,
    });
    expect(await cachedLevel(productID)).toBe(12);
    expect(await shownAvailable(productID)).toBe(12);

    const updated = await call(api.url, "POST", "/admin/products", {
      headers: ADMIN,
      body: { productID, productName: "Green tea", priceCents: 500, quantity: 20 },
    });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ productID, productName: "Green tea", available: 20, created: false });
    expect(await cachedLevel(productID)).toBe(20);
    const view = await call(api.url, "GET", `/products/${productID}`);
    expect(view.body.product).toMatchObject({ productName: "Green tea", priceCents: 500, quantity: 20, available: 20 });
  });

  it("restocks with {add} and {set}, and the cache keeps live holds out of the available level", async () => {
    const productID = await product(10);
    expect(await shownAvailable(productID)).toBe(10); // loads the cache
    const orderId = randomUUID();
    expect(await api.deps.engine.reserve(orderId, [{ productId: productID, quantity: 3 }], 60_000)).toMatchObject({
      ok: true,
    });
    expect(await cachedLevel(productID)).toBe(7);
    const holds = await call(api.url, "GET", "/admin/holds", { headers: ADMIN });
    expect(holds.body.holds).toContainEqual(
      expect.objectContaining({ orderId, state: "held", lines: [{ productId: productID, quantity: 3 }] }),
    );

    const added = await call(api.url, "POST", `/admin/products/${productID}/restock`, {
      headers: ADMIN,
      body: { add: 5 },
    });
    expect(added.status).toBe(200);
    expect(added.body).toMatchObject({ productID, quantity: 15, change: 5, available: 12 });
    expect(await cachedLevel(productID)).toBe(12);
    expect(await shownAvailable(productID)).toBe(12);

    const set = await call(api.url, "POST", `/admin/products/${productID}/restock`, {
      headers: ADMIN,
      body: { set: 4 },
    });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ quantity: 4, change: -11, available: 1 });
    expect(await cachedLevel(productID)).toBe(1);
    expect(await shownAvailable(productID)).toBe(1);
    const row = (await env.db("product_details").where({ product_id: productID }).first("quantity")) as {
      quantity: number;
    };
    expect(row.quantity).toBe(4);
  });

  it("restocks a product whose level is not cached yet from MySQL's figure", async () => {
    const productID = await product(6);
    expect(await cachedLevel(productID)).toBeNull();
    const res = await call(api.url, "POST", `/admin/products/${productID}/restock`, {
      headers: ADMIN,
      body: { add: 4 },
    });
    expect(res.body).toMatchObject({ quantity: 10, available: 10 });
    expect(await cachedLevel(productID)).toBe(10);
  });

  it("refuses {set} below the units sold and not yet flushed (409), which /admin/flushes lists", async () => {
    const productID = await product(10);
    await env.db("reserve_purchase").insert([
      { reserve_id: randomUUID(), product_id: productID, quantity: 4 },
      { reserve_id: randomUUID(), product_id: productID, quantity: 2 },
    ]);
    expect(await shownAvailable(productID)).toBe(4);
    const flushes = await call(api.url, "GET", "/admin/flushes", { headers: ADMIN });
    expect(flushes.body.products).toContainEqual(expect.objectContaining({ productID, orders: 2, units: 6 }));

    const refused = await call(api.url, "POST", `/admin/products/${productID}/restock`, {
      headers: ADMIN,
      body: { set: 5 },
    });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatch(/below the 6 units/);
    const upsert = await call(api.url, "POST", "/admin/products", {
      headers: ADMIN,
      body: { productID, productName: "x", priceCents: 1, quantity: 5 },
    });
    expect(upsert.status).toBe(409);
    // Neither MySQL nor the cache moved.
    expect(
      ((await env.db("product_details").where({ product_id: productID }).first()) as { quantity: number }).quantity,
    ).toBe(10);
    expect(await cachedLevel(productID)).toBe(4);

    const atOwed = await call(api.url, "POST", `/admin/products/${productID}/restock`, {
      headers: ADMIN,
      body: { set: 6 },
    });
    expect(atOwed.status).toBe(200);
    expect(atOwed.body).toMatchObject({ quantity: 6, available: 0 });
    expect(await cachedLevel(productID)).toBe(0);
  });

  it("answers 400 on bad input, 404 on an unknown product, 415 on a non-JSON body", async () => {
    const productID = await product(3);
    const restock = (body: unknown) =>
      call(api.url, "POST", `/admin/products/${productID}/restock`, { headers: ADMIN, body });
    for (const body of [{}, { add: 1, set: 1 }, { add: 0 }, { add: -2 }, { add: 1.5 }, { add: "3" }, { set: -1 }, []]) {
      const res = await restock(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.status).toBe("Failed");
    }
    const upsert = (body: unknown) => call(api.url, "POST", "/admin/products", { headers: ADMIN, body });
    const good = { productID: uid("p"), productName: "Ok", priceCents: 100, quantity: 1 };
    for (const body of [
      { ...good, productID: "" },
      { ...good, productName: "" },
      { ...good, priceCents: -1 },
      { ...good, priceCents: 1.25 },
      { ...good, quantity: -1 },
      { productID: good.productID },
    ]) {
      const res = await upsert(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
    expect(await env.db("product_details").where({ product_id: good.productID }).first()).toBeUndefined();

    const missing = await call(api.url, "POST", `/admin/products/${uid("nope")}/restock`, {
      headers: ADMIN,
      body: { add: 1 },
    });
    expect(missing.status).toBe(404);
    const notJson = await fetch(`${api.url}/admin/products/${productID}/restock`, {
      method: "POST",
      headers: { ...ADMIN, "content-type": "text/plain" },
      body: "add=1",
    });
    expect(notJson.status).toBe(415);
    expect((await call(api.url, "POST", "/admin/jobs/nosuchqueue/retry-failed", { headers: ADMIN })).status).toBe(404);
  });

  it("re-drives a queue's failed jobs with POST /admin/jobs/:queue/retry-failed", async () => {
    const clientId = uid("c");
    const productId = await product(10);
    const job = await failedCartJob(clientId, productId);
    expect(await cartQuantity(clientId, productId)).toBeUndefined();

    const res = await call(api.url, "POST", "/admin/jobs/cart/retry-failed", { headers: ADMIN });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: "Success", queue: "cart", retried: 1 });
    await waitFor(
      "the re-driven job completes",
      () => job.getState(),
      (s) => s === "completed",
      10_000,
    );
    expect(await cartQuantity(clientId, productId)).toBe(1);
    expect(await api.deps.queues.cart.getJobCountByTypes("failed")).toBe(0);
  });
});

// ---------------------------------------------------------------- client JWTs

describe("client JWTs (JWT_SECRET set)", () => {
  const sign = (sub: string, secret = JWT_SECRET, expiresIn = "5m") =>
    new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(sub)
      .setIssuedAt()
      .setExpirationTime(expiresIn)
      .sign(new TextEncoder().encode(secret));

  it("lets client A act on A's cart and refuses B's cart (403)", async () => {
    const a = uid("A");
    const b = uid("B");
    const productID = await product(10);
    const tokenA = bearer(await sign(a));

    const added = await postJson(`${jwtApi.url}/addToCart`, { clientID: a, productID, quantity: 2 }, tokenA);
    expect(added.status).toBe(200);
    expect(added.body).toMatchObject({ status: "Success", quantityInCart: 2 });
    const cartA = await call(jwtApi.url, "GET", `/cart/${a}`, { headers: tokenA });
    expect(cartA.status).toBe(200);
    expect(cartA.body.items).toEqual([expect.objectContaining({ productID, quantity: 2 })]);

    const intoB = await postJson(`${jwtApi.url}/addToCart`, { clientID: b, productID, quantity: 1 }, tokenA);
    expect(intoB.status).toBe(403);
    expect(intoB.body.status).toBe("Failed");
    expect((await call(jwtApi.url, "GET", `/cart/${b}`, { headers: tokenA })).status).toBe(403);
    expect((await call(jwtApi.url, "GET", `/clients/${b}/orders`, { headers: tokenA })).status).toBe(403);
    expect((await postJson(`${jwtApi.url}/checkOutCart`, { clientID: b }, tokenA)).status).toBe(403);
    expect(await cartQuantity(b, productID)).toBeUndefined();
  });

  it("answers 401 without a token, with a wrong signature, an expired token or another algorithm", async () => {
    const a = uid("A");
    const productID = await product(10);
    const forged = await sign(a, "another-secret-of-at-least-32-characters");
    const expired = await sign(a, JWT_SECRET, "-1m");
    const unsigned = `${Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url")}.${Buffer.from(
      JSON.stringify({ sub: a }),
    ).toString("base64url")}.`;
    for (const headers of [{}, bearer(forged), bearer(expired), bearer(unsigned), bearer("not-a-jwt")]) {
      const add = await postJson(`${jwtApi.url}/addToCart`, { clientID: a, productID, quantity: 1 }, headers);
      expect(add.status, JSON.stringify(headers)).toBe(401);
      expect(add.headers.get("www-authenticate")).toMatch(/^Bearer /);
      const cart = await call(jwtApi.url, "GET", `/cart/${a}`, { headers });
      expect(cart.status, JSON.stringify(headers)).toBe(401);
    }
    expect(await cartQuantity(a, productID)).toBeUndefined();
  });

  it("needs no token when JWT_SECRET is unset", async () => {
    const productID = await product(5);
    const res = await postJson(`${api.url}/addToCart`, { clientID: uid("anon"), productID, quantity: 1 });
    expect(res.status).toBe(200);
  });
});
