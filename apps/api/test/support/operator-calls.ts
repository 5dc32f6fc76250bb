/**
 * Credentials and a plain fetch of any route, for the operator-*.test.ts files (not a test
 * file itself): the answer is kept even when it is not JSON.
 */
import { randomUUID } from "node:crypto";
import type { ApiBody, ApiResponse } from "../../../../test/support/system";
import { ADMIN_TOKEN } from "./operator-system";

export const uid = (tag: string) => `${tag}-${randomUUID()}`;
export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
export const basic = (user: string, password: string) => ({
  authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`,
});
export const ADMIN = bearer(ADMIN_TOKEN);

export async function call(
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
export const ADMIN_ROUTES: Array<{ method: string; path: string; body?: unknown }> = [
  { method: "POST", path: "/admin/products", body: { productID: "p-x", productName: "X", priceCents: 1, quantity: 1 } },
  { method: "POST", path: "/admin/products/p-x/restock", body: { add: 1 } },
  { method: "GET", path: "/admin/holds" },
  { method: "GET", path: "/admin/flushes" },
  { method: "POST", path: "/admin/jobs/cart/retry-failed" },
  { method: "POST", path: "/admin/reconcile" },
];
