/**
 * The read endpoints over HTTP against the real Redis and MariaDB: carts, the catalog
 * with live stock, orders, health, and the JSON envelope of unknown routes.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestEnv, insertProducts, removeKeysOf, type TestEnv } from "../../../test/support/env";
import {
  getJson,
  startApi,
  startInProcessWorkers,
  type ApiBody,
  type InProcessWorkers,
  type RunningApi,
} from "../../../test/support/system";

let env: TestEnv;
let api: RunningApi;
/** A consuming worker, so that readiness (which wants a live worker heartbeat) can be met. */
let workers: InProcessWorkers;
/** An API under a key prefix that no worker consumes. */
let lonely: RunningApi | undefined;

beforeAll(async () => {
  env = await createTestEnv();
  workers = await startInProcessWorkers(env, { WORKER_QUEUES: ["cart"] });
  api = await startApi(env);
});

afterAll(async () => {
  await lonely?.close();
  await api?.close();
  await workers?.close();
  if (env) {
    await removeKeysOf(env.redis, `${env.id}_lonely`);
    await env.close();
  }
});

interface CartItem {
  productID: string;
  productName: string;
  quantity: number;
  unitPriceCents: number;
  available: number;
}
interface CartBody extends ApiBody {
  clientID: string;
  items: CartItem[];
  totalCents: number;
}
interface ProductView {
  productID: string;
  productName: string;
  priceCents: number;
  quantity: number;
  available: number;
}
interface ProductsBody extends ApiBody {
  products: ProductView[];
  limit: number;
  nextCursor?: string;
}
interface ProductBody extends ApiBody {
  product: ProductView;
}
interface OrderView {
  orderId: string;
  clientID: string;
  state: string;
  totalCents: number;
  items?: Array<{ productID: string; quantity: number; unitPriceCents: number }>;
}
interface OrdersBody extends ApiBody {
  clientID: string;
  orders: OrderView[];
}
interface OrderBody extends ApiBody {
  order: OrderView;
}

const uid = (tag: string) => `${tag}-${randomUUID()}`;

// Catalog products are named so that they sort first and in this order (product_id order).
const catalog = [
  { id: "0000-catalog-a", name: "Alpha", quantity: 10, priceCents: 250 },
  { id: "0000-catalog-b", name: "Bravo", quantity: 3, priceCents: 1_999 },
  { id: "0000-catalog-c", name: "Charlie", quantity: 0, priceCents: 5 },
];

beforeAll(async () => {
  await insertProducts(env.db, catalog);
});

function expectFailure(body: ApiBody, message: RegExp): void {
  expect(body.status).toBe("Failed");
  expect(body.error).toMatch(message);
}

describe("GET /cart/:clientID", () => {
  it("lists the items with name, quantity, unit price and available stock, and the total", async () => {
    const a = uid("p");
    const b = uid("p");
    await insertProducts(env.db, [
      { id: a, name: "Mug", quantity: 20, priceCents: 1_200 },
      { id: b, name: "Kettle", quantity: 4, priceCents: 5_900 },
    ]);
    const clientID = uid("c");
    await env.db("client_cart").insert([
      { client_id: clientID, product_id: a, quantity: 3 },
      { client_id: clientID, product_id: b, quantity: 1 },
    ]);
    // Another client's cart is not part of this one.
    await env.db("client_cart").insert({ client_id: uid("c"), product_id: a, quantity: 7 });

    const res = await getJson<CartBody>(`${api.url}/cart/${encodeURIComponent(clientID)}`);

    expect(res.status).toBe(200);
    const items = [
      { productID: a, productName: "Mug", quantity: 3, unitPriceCents: 1_200, available: 20 },
      { productID: b, productName: "Kettle", quantity: 1, unitPriceCents: 5_900, available: 4 },
    ].sort((x, y) => x.productID.localeCompare(y.productID));
    expect(res.body).toEqual({ status: "Success", error: "", clientID, items, totalCents: 3 * 1_200 + 5_900 });
  });

  it("shows an unknown client's cart as empty", async () => {
    const clientID = uid("c");
    const res = await getJson<CartBody>(`${api.url}/cart/${clientID}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: "Success", error: "", clientID, items: [], totalCents: 0 });
  });

  it("answers 400 for a clientID longer than 100 characters", async () => {
    const res = await getJson(`${api.url}/cart/${"c".repeat(101)}`);
    expect(res.status).toBe(400);
    expectFailure(res.body, /clientID.*100/);
  });

  it("reflects live holds in each item's available stock", async () => {
    const productID = uid("p");
    await insertProducts(env.db, [{ id: productID, quantity: 6, priceCents: 10 }]);
    const clientID = uid("c");
    await env.db("client_cart").insert({ client_id: clientID, product_id: productID, quantity: 2 });
    const hold = await api.deps.engine.reserve(randomUUID(), [{ productId: productID, quantity: 5 }], 60_000);
    expect(hold.ok).toBe(true);

    const res = await getJson<CartBody>(`${api.url}/cart/${clientID}`);

    expect(res.body.items).toEqual([
      { productID, productName: productID, quantity: 2, unitPriceCents: 10, available: 1 },
    ]);
  });
});

describe("GET /products", () => {
  it("lists the catalog in product id order with quantity and available stock", async () => {
    const res = await getJson<ProductsBody>(`${api.url}/products?limit=3`);

    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      status: "Success",
      error: "",
      limit: 3,
      nextCursor: expect.any(String),
      products: catalog.map((p) => ({
        productID: p.id,
        productName: p.name,
        priceCents: p.priceCents,
        quantity: p.quantity,
        available: p.quantity,
      })),
    });
  });

  it("pages with limit and the previous page's cursor", async () => {
    const first = await getJson<ProductsBody>(`${api.url}/products?limit=1`);
    const res = await getJson<ProductsBody>(`${api.url}/products?limit=1&cursor=${first.body.nextCursor ?? ""}`);
    expect(res.status).toBe(200);
    expect(res.body.products.map((p) => p.productID)).toEqual([catalog[1]?.id]);
    expect(res.body).toMatchObject({ limit: 1 });
  });

  it.each([["limit=0"], ["limit=501"], ["limit=abc"], ["offset=1"], ["limit=1.5"], ["cursor=x"]])(
    "answers 400 for %s, naming the parameter",
    async (query) => {
      const res = await getJson(`${api.url}/products?${query}`);
      expect(res.status).toBe(400);
      expectFailure(res.body, new RegExp(query.split("=")[0] ?? "?"));
    },
  );

  it("shows `available` drop while a hold is live, while `quantity` stays, and recover on release", async () => {
    const productID = uid("0001-held");
    await insertProducts(env.db, [{ id: productID, name: "Held", quantity: 8, priceCents: 300 }]);
    const find = async () => {
      const res = await getJson<ProductsBody>(`${api.url}/products?limit=500`);
      expect(res.status).toBe(200);
      return res.body.products.find((p) => p.productID === productID);
    };
    expect(await find()).toMatchObject({ quantity: 8, available: 8 });

    const orderId = randomUUID();
    expect(await api.deps.engine.reserve(orderId, [{ productId: productID, quantity: 5 }], 60_000)).toEqual({
      ok: true,
      replayed: false,
    });
    expect(await find()).toMatchObject({ quantity: 8, available: 3 });

    // A second hold on the rest empties the available stock, not the warehouse.
    expect((await api.deps.engine.reserve(randomUUID(), [{ productId: productID, quantity: 3 }], 60_000)).ok).toBe(
      true,
    );
    expect(await find()).toMatchObject({ quantity: 8, available: 0 });

    expect(await api.deps.engine.release(orderId)).toEqual({ ok: true, replayed: false });
    expect(await find()).toMatchObject({ quantity: 8, available: 5 });
  });
});

describe("GET /products/:productID", () => {
  it("answers one product with its live stock", async () => {
    const productID = uid("p");
    await insertProducts(env.db, [{ id: productID, name: "Grinder", quantity: 5, priceCents: 19_900 }]);
    await api.deps.engine.reserve(randomUUID(), [{ productId: productID, quantity: 2 }], 60_000);

    const res = await getJson<ProductBody>(`${api.url}/products/${productID}`);

    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      status: "Success",
      error: "",
      product: { productID, productName: "Grinder", priceCents: 19_900, quantity: 5, available: 3 },
    });
  });

  it("answers 404 for an unknown product, naming it", async () => {
    const productID = uid("missing");
    const res = await getJson(`${api.url}/products/${productID}`);
    expect(res.status).toBe(404);
    expectFailure(res.body, new RegExp(`unknown product ${productID}`));
  });

  it("answers 400 for a productID longer than 100 characters", async () => {
    const res = await getJson(`${api.url}/products/${"p".repeat(101)}`);
    expect(res.status).toBe(400);
    expectFailure(res.body, /productID/);
  });
});

describe("GET /orders/:orderId and GET /clients/:clientID/orders", () => {
  it("answers 400 for an order id that is not a UUID", async () => {
    const res = await getJson(`${api.url}/orders/not-a-uuid`);
    expect(res.status).toBe(400);
    expectFailure(res.body, /orderId.*UUID/);
  });

  it("answers 404 for an unknown order UUID, naming it", async () => {
    const orderId = randomUUID();
    const res = await getJson(`${api.url}/orders/${orderId}`);
    expect(res.status).toBe(404);
    expectFailure(res.body, new RegExp(`unknown order ${orderId}`));
  });

  it("answers an empty list for a client without orders", async () => {
    const clientID = uid("c");
    const res = await getJson<OrdersBody>(`${api.url}/clients/${clientID}/orders`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: "Success", error: "", clientID, orders: [], limit: 100 });
  });

  it("answers a stored order with its items, and lists it for its client", async () => {
    const clientID = uid("c");
    const productID = uid("p");
    await insertProducts(env.db, [{ id: productID, quantity: 9, priceCents: 700 }]);
    const orderId = randomUUID();
    await env.db("orders").insert({ order_id: orderId, client_id: clientID, state: "completed", total_cents: 1_400 });
    await env
      .db("order_items")
      .insert({ order_id: orderId, product_id: productID, quantity: 2, unit_price_cents: 700 });

    const one = await getJson<OrderBody>(`${api.url}/orders/${orderId}`);
    expect(one.status).toBe(200);
    expect(one.body.order).toMatchObject({
      orderId,
      clientID,
      state: "completed",
      totalCents: 1_400,
      items: [{ productID, quantity: 2, unitPriceCents: 700 }],
    });

    const list = await getJson<OrdersBody>(`${api.url}/clients/${clientID}/orders`);
    expect(list.status).toBe(200);
    expect(list.body.orders).toHaveLength(1);
    expect(list.body.orders[0]).toMatchObject({ orderId, clientID, state: "completed", totalCents: 1_400 });
  });
});

describe("health and unknown routes", () => {
  it("GET /healthz answers 200", async () => {
    const res = await getJson(`${api.url}/healthz`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: "ok" });
  });

  it("GET /readyz answers 200 with Redis and MySQL up and a worker consuming", async () => {
    const res = await getJson<{ status: string; checks: Record<string, boolean> }>(`${api.url}/readyz`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ status: "ready", checks: { redis: true, mysql: true } });
    expect(Object.values(res.body.checks).every((ok) => ok === true)).toBe(true);
  });

  it("GET /readyz answers 503 naming the failed check when no worker consumes, while /healthz stays 200", async () => {
    lonely = await startApi(env, { REDIS_PREFIX: `${env.id}_lonely` });

    const ready = await getJson(`${lonely.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ status: "not ready", checks: { redis: true, mysql: true, workers: false } });
    expect((await getJson(`${lonely.url}/healthz`)).status).toBe(200);
  });

  it("answers an unknown route with a 404 JSON envelope", async () => {
    const res = await getJson(`${api.url}/no/such/route`);
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(res.body).toEqual({ status: "Failed", error: "no route GET /no/such/route", code: "NOT_FOUND" });
  });

  it("answers a known path with the wrong method with a 404 JSON envelope", async () => {
    const res = await fetch(`${api.url}/products`, { method: "DELETE" });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ status: "Failed", error: "no route DELETE /products", code: "NOT_FOUND" });
  });

  it("echoes a well-formed X-Request-Id and replaces a malformed one", async () => {
    const echoed = await fetch(`${api.url}/healthz`, { headers: { "x-request-id": "req-123.abc" } });
    expect(echoed.headers.get("x-request-id")).toBe("req-123.abc");
    const replaced = await fetch(`${api.url}/healthz`, { headers: { "x-request-id": "bad id with spaces" } });
    expect(replaced.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });
});
