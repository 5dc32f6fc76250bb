/** Helpers of the order-lifecycle tests (cancel, refund, fulfil, ship) over HTTP. */
import type { TestEnv } from "./env";
import { addToCartOk, postJson, type ApiResponse } from "./system";
import { eventually } from "./invariants";

/** Adds the lines to a fresh cart and checks out; returns the completed order's id. */
export async function buy(
  apiUrl: string,
  clientID: string,
  lines: Array<[productID: string, quantity: number]>,
): Promise<string> {
  for (const [productID, quantity] of lines) await addToCartOk(apiUrl, clientID, productID, quantity);
  const res = await postJson(`${apiUrl}/checkOutCart`, { clientID });
  if (res.status !== 200 || typeof res.body.orderId !== "string")
    throw new Error(`checkout of ${clientID}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.orderId;
}

export function adminPost(
  apiUrl: string,
  token: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<ApiResponse> {
  return postJson(`${apiUrl}/admin${path}`, body ?? {}, { authorization: `Bearer ${token}`, ...headers });
}

/** POST without a body at all (the whole-order refund, a cancel). */
export async function postEmpty(url: string, headers: Record<string, string> = {}): Promise<ApiResponse> {
  const res = await fetch(url, { method: "POST", headers });
  return { status: res.status, body: (await res.json()) as ApiResponse["body"], headers: res.headers };
}

export interface RefundFigures {
  refunds: Array<{ refund_id: string; status: string; amount_cents: number }>;
  /** The provider's ledger for this order's charge. */
  provider: Array<{ idempotency_key: string; amount_cents: number }>;
}

export async function refundFigures(env: TestEnv, orderId: string): Promise<RefundFigures> {
  const refunds = (await env
    .db("refunds")
    .where({ order_id: orderId })
    .orderBy("created_at")
    .select("refund_id", "status", "amount_cents")) as RefundFigures["refunds"];
  const provider = (await env
    .db("provider_refunds")
    .where({ charge_key: orderId })
    .select("idempotency_key", "amount_cents")) as RefundFigures["provider"];
  return {
    refunds: refunds.map((r) => ({ ...r, amount_cents: Number(r.amount_cents) })),
    provider: provider.map((p) => ({ ...p, amount_cents: Number(p.amount_cents) })),
  };
}

/** Waits until every refund of the order was confirmed by the provider. */
export async function refundsSettled(env: TestEnv, orderId: string): Promise<RefundFigures> {
  return eventually(`refunds of ${orderId} to be confirmed`, async () => {
    const figures = await refundFigures(env, orderId);
    return figures.refunds.every((r) => r.status === "succeeded") ? figures : undefined;
  });
}
