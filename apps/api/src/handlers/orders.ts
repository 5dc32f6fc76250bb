import type { ApiDeps } from "../deps";
import { failure, parseId, success, type HttpResult } from "../http/result";
import { refundsOf } from "../orders/lifecycle";
import { infrastructureFailure } from "./errors";
import { parseOrderId } from "./order-lifecycle";

interface OrderRow {
  order_id: string;
  client_id: string;
  state: string;
  total_cents: number | string;
  refunded_cents: number | string;
  payment_ref: string | null;
  tracking_ref: string | null;
  failure_code: string | null;
  failure_reason: string | null;
  created_at: Date;
  updated_at: Date;
  completed_at: Date | null;
  cancelled_at: Date | null;
  fulfilled_at: Date | null;
  shipped_at: Date | null;
}

/**
 * GET /orders/:orderId: state, items, total, failure reason and timestamps. With `owner`
 * (JWT on) an order of anyone else is answered exactly as one that does not exist, so
 * order ids cannot be probed.
 */
export async function getOrder(deps: ApiDeps, orderId: string, owner?: string): Promise<HttpResult> {
  const id = parseOrderId(orderId);
  if (!id.ok) return id.result;
  const unknown = failure("NOT_FOUND", `unknown order ${id.id}`);
  const visible = (clientId: unknown) => owner === undefined || clientId === owner;
  try {
    const row = (await deps.db("orders").where({ order_id: id.id }).first()) as OrderRow | undefined;
    if (!row) {
      // Accepted but not yet picked up by a worker: the job exists, the row not yet.
      const job = await deps.queues.checkout.getJob(id.id);
      const state = job ? await job.getState() : "unknown";
      if (
        job &&
        visible((job.data as { clientId?: unknown }).clientId) &&
        (state === "waiting" || state === "delayed" || state === "active" || state === "prioritized")
      ) {
        return success({ order: { orderId: id.id, state: "pending", items: [], totalCents: 0 } });
      }
      return unknown;
    }
    if (!visible(row.client_id)) return unknown;
    const items = (await deps.db("order_items").where({ order_id: id.id }).orderBy("product_id")) as Array<{
      product_id: string;
      quantity: number;
      unit_price_cents: number;
    }>;
    return success({ order: { ...orderView(row, items), refunds: await refundsOf(deps.db, id.id) } });
  } catch (err) {
    return infrastructureFailure(err);
  }
}

/** GET /clients/:clientID/orders: newest first. */
export async function listClientOrders(deps: ApiDeps, clientID: string): Promise<HttpResult> {
  const id = parseId("clientID", clientID);
  if (!id.ok) return id.result;
  try {
    const rows = (await deps
      .db("orders")
      .where({ client_id: id.id })
      .orderBy("created_at", "desc")
      .limit(100)) as OrderRow[];
    return success({ clientID: id.id, orders: rows.map((r) => orderView(r)) });
  } catch (err) {
    return infrastructureFailure(err);
  }
}

function orderView(row: OrderRow, items?: Array<{ product_id: string; quantity: number; unit_price_cents: number }>) {
  return {
    orderId: row.order_id,
    clientID: row.client_id,
    state: row.state,
    totalCents: Number(row.total_cents),
    refundedCents: Number(row.refunded_cents ?? 0),
    paymentRef: row.payment_ref,
    trackingRef: row.tracking_ref ?? null,
    failureCode: row.failure_code,
    failureReason: row.failure_reason,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    completedAt: row.completed_at,
    cancelledAt: row.cancelled_at ?? null,
    fulfilledAt: row.fulfilled_at ?? null,
    shippedAt: row.shipped_at ?? null,
    ...(items
      ? {
          items: items.map((i) => ({
            productID: i.product_id,
            quantity: i.quantity,
            unitPriceCents: i.unit_price_cents,
          })),
        }
      : {}),
  };
}
