/**
 * Products, calls of POST /addToCart and readers of what it stored, for the
 * add-to-cart*.http.test.ts files (not a test file itself).
 */
import { randomUUID } from "node:crypto";
import { expect } from "vitest";
import { insertProducts } from "../../../../test/support/env";
import { postJson, type ApiBody, type ApiResponse } from "../../../../test/support/system";
import { env } from "./add-to-cart-system";

export const uid = (tag: string) => `${tag}-${randomUUID()}`;

export async function product(quantity: number, priceCents = 100): Promise<string> {
  const id = uid("p");
  await insertProducts(env.db, [{ id, quantity, priceCents }]);
  return id;
}

export async function cartRows(clientId: string): Promise<Array<{ product_id: string; quantity: number }>> {
  return (await env
    .db("client_cart")
    .where({ client_id: clientId })
    .orderBy("product_id")
    .select("product_id", "quantity")) as Array<{ product_id: string; quantity: number }>;
}

export async function operationCount(clientId: string): Promise<number> {
  const row = (await env.db("cart_operations").where({ client_id: clientId }).count({ n: "*" }).first()) as
    { n: number | string } | undefined;
  return Number(row?.n ?? 0);
}

export function add(url: string, body: unknown, headers: Record<string, string> = {}): Promise<ApiResponse> {
  return postJson(`${url}/addToCart`, body, headers);
}

/** Sends a raw body with any content type and parses the (always JSON) answer. */
export async function postRaw(url: string, body: string, contentType: string): Promise<ApiResponse> {
  const res = await fetch(`${url}/addToCart`, { method: "POST", headers: { "content-type": contentType }, body });
  return { status: res.status, body: (await res.json()) as ApiBody, headers: res.headers };
}

/** Every failure keeps the original envelope, says what went wrong, and leaks no internals. */
export function expectFailure(res: ApiResponse, status: number, message: RegExp): void {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  expect(res.body.status).toBe("Failed");
  expect(typeof res.body.error).toBe("string");
  expect(res.body.error.length).toBeGreaterThan(0);
  expect(res.body.error).toMatch(message);
  const text = JSON.stringify(res.body);
  expect(text, "the body carries a stack trace").not.toMatch(/\bat .+:\d+:\d+|\\n\s+at |node_modules|\.ts:\d+/);
  expect(text, "the body carries a low-level error").not.toMatch(/ECONNREFUSED|ETIMEDOUT|Knex|SELECT|INSERT/i);
}
