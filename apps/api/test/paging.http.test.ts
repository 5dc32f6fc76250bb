/**
 * Keyset paging over HTTP (issue 14, item 4): GET /products, /clients/:clientID/orders and
 * /admin/orders walk every row once, in order, with an opaque cursor; the last page has no
 * nextCursor; a limit above the maximum is a 400 (not clamped), and so is a cursor this
 * listing did not give out. Against the real MariaDB, with rows created in the same
 * millisecond so the tie-breaker (order_id) is exercised.
 */
import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { PAGE_LIMIT_DEFAULT, PAGE_LIMIT_MAX } from "@oms/shared";
import { insertProducts, type TestEnv } from "../../../test/support/env";
import { requestJson, type RunningApi } from "../../../test/support/system";
import { useSystem } from "../../../test/support/fixture";

const ADMIN_TOKEN = "paging-admin-token-0123456789";
const ADMIN = { authorization: `Bearer ${ADMIN_TOKEN}` };

let env: TestEnv;
let api: RunningApi;

const PRODUCTS = Array.from({ length: 250 }, (_, i) => `prod-${String(i).padStart(3, "0")}`);
const ALICE = "alice-paging";
const BASE = Date.UTC(2026, 0, 1);
const STATES = ["completed", "failed", "pending"] as const;
/** Orders as inserted; created_at repeats every three rows, so ties within a millisecond are the rule. */
const ORDERS = Array.from({ length: 180 }, (_, i) => ({
  order_id: randomUUID(),
  // 120 of alice's, 60 of two other clients'.
  client_id: i < 120 ? ALICE : `other-${i % 2}`,
  state: STATES[i % 3] ?? "completed",
  created_at: new Date(BASE + Math.floor(i / 3) * 1_000),
}));

useSystem({ ADMIN_TOKEN, RATE_LIMIT_PER_MINUTE: "0" }, (system) => ({ env, api } = system), { workers: false });

beforeAll(async () => {
  // Shuffled, so the answer's order is the keyset's and not the insertion order.
  await insertProducts(
    env.db,
    [...PRODUCTS].sort(() => Math.random() - 0.5).map((id) => ({ id, quantity: 1 })),
  );
  await env.db("orders").insert([...ORDERS].sort(() => Math.random() - 0.5));
});

interface Page {
  status: string;
  error: string;
  limit: number;
  nextCursor?: string;
  [listing: string]: unknown;
}

/** Follows nextCursor from the first page to the last; returns every page's rows and sizes. */
async function walk<T>(path: string, field: string, headers: Record<string, string> = {}) {
  const sizes: number[] = [];
  const rows: T[] = [];
  let cursor: string | undefined;
  for (let guard = 0; guard < 1_000; guard++) {
    const sep = path.includes("?") ? "&" : "?";
    const res = await requestJson<Page>(
      api.url,
      "GET",
      cursor ? `${path}${sep}cursor=${encodeURIComponent(cursor)}` : path,
      undefined,
      headers,
    );
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const page = res.body[field] as T[];
    sizes.push(page.length);
    rows.push(...page);
    if (res.body.nextCursor === undefined) return { rows, sizes };
    expect(page.length).toBe(res.body.limit);
    cursor = res.body.nextCursor;
  }
  throw new Error("paging did not end");
}

interface OrderView {
  orderId: string;
  clientID: string;
  state: string;
  createdAt: string;
}

/** Newest first; within a millisecond, the greater order id first. */
function newestFirst(rows: typeof ORDERS): string[] {
  return [...rows]
    .sort((a, b) => b.created_at.getTime() - a.created_at.getTime() || (a.order_id < b.order_id ? 1 : -1))
    .map((o) => o.order_id);
}

describe("GET /products", () => {
  it("walks 250 products in pages of 100: every one once, in id order, no nextCursor on the last", async () => {
    const { rows, sizes } = await walk<{ productID: string }>("/products?limit=100", "products");
    expect(sizes).toEqual([100, 100, 50]);
    expect(rows.map((p) => p.productID)).toEqual(PRODUCTS);
  });

  it(`pages ${PAGE_LIMIT_DEFAULT} by default; ${PAGE_LIMIT_MAX} is the most one page holds`, async () => {
    expect((await walk("/products", "products")).sizes).toEqual([100, 100, 50]);
    expect((await walk(`/products?limit=${PAGE_LIMIT_MAX}`, "products")).sizes).toEqual([250]);
    // A page size that divides the catalog: the last full page has no nextCursor either.
    expect((await walk("/products?limit=125", "products")).sizes).toEqual([125, 125]);
  });
});

describe("GET /clients/:clientID/orders", () => {
  it("walks 120 orders newest first, ties broken by order id, each once", async () => {
    const { rows, sizes } = await walk<OrderView>(`/clients/${ALICE}/orders?limit=50`, "orders");
    expect(sizes).toEqual([50, 50, 20]);
    expect(rows.map((o) => o.orderId)).toEqual(newestFirst(ORDERS.filter((o) => o.client_id === ALICE)));
    expect(new Set(rows.map((o) => o.clientID))).toEqual(new Set([ALICE]));
  });

  it("a client with no orders is one empty page without nextCursor", async () => {
    const res = await requestJson(api.url, "GET", "/clients/nobody-paging/orders");
    expect(res.body).toEqual({ status: "Success", error: "", clientID: "nobody-paging", orders: [], limit: 100 });
  });
});

describe("GET /admin/orders", () => {
  it("walks every client's orders newest first", async () => {
    const { rows } = await walk<OrderView>("/admin/orders?limit=37", "orders", ADMIN);
    expect(rows.map((o) => o.orderId)).toEqual(newestFirst(ORDERS));
  });

  it.each([
    ["state=failed", (o: (typeof ORDERS)[number]) => o.state === "failed"],
    [`clientID=other-1`, (o: (typeof ORDERS)[number]) => o.client_id === "other-1"],
    [`clientID=${ALICE}&state=pending`, (o: (typeof ORDERS)[number]) => o.client_id === ALICE && o.state === "pending"],
    [
      `since=${new Date(BASE + 10_000).toISOString()}&until=${new Date(BASE + 20_000).toISOString()}`,
      (o: (typeof ORDERS)[number]) => o.created_at.getTime() >= BASE + 10_000 && o.created_at.getTime() < BASE + 20_000,
    ],
    [
      `state=completed&since=${new Date(BASE + 30_000).toISOString()}`,
      (o: (typeof ORDERS)[number]) => o.state === "completed" && o.created_at.getTime() >= BASE + 30_000,
    ],
  ])("filters by %s across pages", async (query, keep) => {
    const { rows } = await walk<OrderView>(`/admin/orders?limit=7&${query}`, "orders", ADMIN);
    const expected = newestFirst(ORDERS.filter(keep));
    expect(expected.length).toBeGreaterThan(7);
    expect(rows.map((o) => o.orderId)).toEqual(expected);
  });

  it("needs the admin token", async () => {
    expect((await requestJson(api.url, "GET", "/admin/orders")).status).toBe(401);
  });

  it("runs along an index, with no sort (EXPLAIN)", async () => {
    const explain = async (where: string, args: Array<string | Date>) => {
      const [rows] = (await env.db.raw(
        `EXPLAIN SELECT * FROM orders WHERE ${where} AND (created_at < ? OR (created_at = ? AND order_id < ?)) ORDER BY created_at DESC, order_id DESC LIMIT 101`,
        [...args, new Date(BASE + 50_000), new Date(BASE + 50_000), "f"],
      )) as [Array<{ key: string | null; Extra: string | null }>];
      return rows[0];
    };
    for (const [where, args, key] of [
      ["state = ?", ["failed"], "orders_state_created"],
      ["client_id = ?", [ALICE], "orders_client_created"],
      ["1 = 1", [], "orders_created"],
    ] as const) {
      const plan = await explain(where, [...args]);
      expect(plan?.key, where).toBe(key);
      expect(plan?.Extra ?? "", where).not.toMatch(/filesort/);
    }
  });
});

describe("refusals: 400 with the typed error body", () => {
  const products = async () => (await requestJson(api.url, "GET", "/products?limit=1")).body.nextCursor as string;

  it.each([
    ["/products?limit=0", /limit: must be at least 1/],
    [`/products?limit=${PAGE_LIMIT_MAX + 1}`, new RegExp(`limit: must be at most ${PAGE_LIMIT_MAX}`)],
    ["/products?limit=abc", /limit/],
    ["/products?limit=1&limit=2", /limit/],
    ["/products?offset=10", /offset: not a parameter of this listing/],
    ["/products?cursor=", /cursor: must not be empty/],
    ["/products?cursor=not-a-cursor", /cursor: not a cursor this listing gave out/],
    ["/products?cursor=%2B%2F%3D", /cursor: not a cursor this listing gave out/],
    [`/products?cursor=${"x".repeat(501)}`, /cursor: must be at most 500/],
    [`/clients/${ALICE}/orders?limit=100000`, /limit/],
    [`/clients/${ALICE}/orders?cursor=abc`, /cursor/],
    ["/admin/orders?state=lost", /state/],
    ["/admin/orders?since=yesterday", /since: must be an ISO 8601 date-time/],
    ["/admin/orders?clientID=%20padded", /clientID/],
  ])("GET %s", async (path, message) => {
    const res = await requestJson(api.url, "GET", path, undefined, ADMIN);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ status: "Failed", code: "INVALID_INPUT" });
    expect(res.body.error).toMatch(message);
  });

  it("a cursor of one listing is refused by another, and a tampered key is refused", async () => {
    const cursor = await products();
    const res = await requestJson(api.url, "GET", `/clients/${ALICE}/orders?cursor=${cursor}`);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/cursor: not a cursor this listing gave out/);
    const forged = Buffer.from(JSON.stringify({ l: "client-orders", k: ["yesterday", 1] })).toString("base64url");
    expect((await requestJson(api.url, "GET", `/clients/${ALICE}/orders?cursor=${forged}`)).status).toBe(400);
  });

  it("names every bad parameter at once", async () => {
    const res = await requestJson(api.url, "GET", "/products?limit=0&cursor=zzz&offset=1");
    expect(res.body.error).toMatch(/limit.*cursor.*offset|limit.*offset.*cursor/);
  });
});
