/**
 * /metrics stays bounded whatever paths clients send (review finding 6: the `route` label
 * was the request's own path casing, so 16 384 variants of a docs asset path took /metrics
 * to 37 MB). Every request is labelled with the route as declared, or `other`.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { type RunningApi } from "../../../test/support/system";
import { useSystem } from "../../../test/support/fixture";

const ADMIN_TOKEN = "cardinality-admin-token-0123";

/** Every label a request may get: the routes app.ts declares, the mounted UIs, and `other`. */
const DECLARED = [
  "/addToCart",
  "/checkOutCart",
  "/cart/:clientID",
  "/cart/:clientID/items/:productID",
  "/clients/:clientID/orders",
  "/products",
  "/products/:productID",
  "/orders/:orderId",
  "/healthz",
  "/readyz",
  "/metrics",
  "/openapi.json",
  "/documentation",
  "/admin/products",
  "/admin/products/:productID/restock",
  "/admin/orders",
  "/admin/holds",
  "/admin/flushes",
  "/admin/jobs/:queue/retry-failed",
  "/admin/reconcile",
  "/admin/webhooks",
  "/admin/webhooks/:id",
  "/admin/webhooks/:id/deliveries",
  "/admin/queues",
  "other",
];

/** Far above what the declared routes times a few statuses take, far below unbounded growth. */
const MAX_METRICS_BYTES = 100_000;

let api: RunningApi;

useSystem({ ADMIN_TOKEN, RATE_LIMIT_PER_MINUTE: "0" }, (system) => ({ api } = system), { workers: false });

/** The path with each letter's case chosen at random. */
function randomCase(path: string): string {
  const bits = randomBytes(path.length);
  return [...path].map((c, i) => ((bits[i] ?? 0) & 1 ? c.toUpperCase() : c.toLowerCase())).join("");
}

async function send(paths: Array<{ method?: string; path: string; headers?: Record<string, string> }>) {
  for (let i = 0; i < paths.length; i += 50) {
    await Promise.all(
      paths.slice(i, i + 50).map(async ({ method = "GET", path, headers }) => {
        const res = await fetch(`${api.url}${path}`, { method, headers });
        await res.arrayBuffer();
      }),
    );
  }
}

async function routeLabels(): Promise<{ bytes: number; routes: Set<string> }> {
  const text = await (await fetch(`${api.url}/metrics`)).text();
  const routes = new Set(
    [...text.matchAll(/^oms_http_request_duration_seconds_count\{[^}]*route="([^"]*)"/gm)].map((m) => m[1] ?? ""),
  );
  return { bytes: Buffer.byteLength(text), routes };
}

describe("HTTP metrics cardinality (finding 6)", () => {
  it("labels thousands of odd paths with declared routes or `other`, and /metrics stays under a fixed size", async () => {
    const board = { authorization: `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString("base64")}` };
    const requests = [
      // Case variants of the board, unauthenticated (401) and authenticated.
      ...Array.from({ length: 1200 }, () => ({ path: randomCase("/admin/queues") })),
      ...Array.from({ length: 100 }, () => ({ path: `${randomCase("/admin/queues")}/api/queues`, headers: board })),
      // Docs assets, real and made up, in any case.
      ...Array.from({ length: 1200 }, (_, i) => ({
        path: randomCase(i % 2 ? "/documentation/assets/swagger-ui.css" : `/documentation/assets/${randomUUID()}.js`),
      })),
      // Admin API routes without a token, in any case.
      ...Array.from({ length: 400 }, (_, i) => ({
        method: i % 2 ? "POST" : "GET",
        path: randomCase(i % 2 ? `/admin/products/p${i}/restock` : "/admin/holds"),
      })),
      // Shop routes in any case, and paths that match nothing.
      ...Array.from({ length: 300 }, () => ({ path: randomCase(`/orders/${randomUUID()}`) })),
      ...Array.from({ length: 1000 }, () => ({ path: `/${randomUUID()}/${randomBytes(4).toString("hex")}` })),
    ];
    await send(requests);

    const { bytes, routes } = await routeLabels();
    expect([...routes].filter((r) => !DECLARED.includes(r))).toEqual([]);
    expect(bytes).toBeLessThan(MAX_METRICS_BYTES);
    // The admin surface is labelled with its own routes, whatever the casing or the answer.
    for (const r of ["/admin/queues", "/admin/holds", "/admin/products/:productID/restock", "/documentation", "other"])
      expect(routes, r).toContain(r);
  });

  it("labels a declared route by its pattern even when the request spells it in another case", async () => {
    await send([{ path: "/PRODUCTS/some-product" }, { path: "/Healthz" }]);
    const { routes } = await routeLabels();
    expect(routes).toContain("/products/:productID");
    expect(routes).toContain("/healthz");
  });
});
