/**
 * Products for the operator-*.test.ts files to act on, and readers of the levels and carts
 * they show (not a test file itself).
 */
import { expect } from "vitest";
import { insertProducts } from "../../../../test/support/env";
import { call, uid } from "./operator-calls";
import { api, env } from "./operator-system";

export async function product(quantity: number, priceCents = 250): Promise<string> {
  const id = uid("p");
  await insertProducts(env.db, [{ id, quantity, priceCents }]);
  return id;
}

export async function cachedLevel(productId: string): Promise<number | null> {
  const v = await env.redis.get(env.keys.stock(productId));
  return v === null ? null : Number(v);
}

export async function shownAvailable(productId: string): Promise<number> {
  const res = await call(api.url, "GET", `/products/${encodeURIComponent(productId)}`);
  expect(res.status).toBe(200);
  return (res.body.product as { available: number }).available;
}

export async function cartQuantity(clientId: string, productId: string): Promise<number | undefined> {
  const row = (await env.db("client_cart").where({ client_id: clientId, product_id: productId }).first("quantity")) as
    { quantity: number } | undefined;
  return row?.quantity;
}
