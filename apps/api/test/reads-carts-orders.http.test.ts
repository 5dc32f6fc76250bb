/**
 * A client's reads over HTTP against the real Redis and MariaDB: the cart (items with
 * name, unit price and live available stock, and the total) and the orders, one by id or
 * all of a client's.
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { insertProducts } from "../../../test/support/env";
import { getJson, type ApiBody } from "../../../test/support/system";
import { api, env, expectFailure, setUpReads, uid } from "./support/reads-system";

setUpReads();

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
