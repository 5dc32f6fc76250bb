import { z } from "zod";
import { dbNumber, parseRows, type Knex } from "@oms/shared";
import type { ApiDeps } from "../deps";
import { pageOf } from "./paging";

export const OrderRow = z.object({
  order_id: z.string(),
  client_id: z.string(),
  state: z.string(),
  total_cents: dbNumber,
  refunded_cents: dbNumber,
  payment_ref: z.string().nullable(),
  tracking_ref: z.string().nullable(),
  failure_code: z.string().nullable(),
  failure_reason: z.string().nullable(),
  created_at: z.date(),
  updated_at: z.date(),
  completed_at: z.date().nullable(),
  cancelled_at: z.date().nullable(),
  fulfilled_at: z.date().nullable(),
  shipped_at: z.date().nullable(),
});
export type OrderRow = z.infer<typeof OrderRow>;

export const OrderItemRow = z.object({ product_id: z.string(), quantity: z.number(), unit_price_cents: z.number() });

/** Where a page of orders resumes: the last row's created_at (ms) and order id, newest first. */
export const OrderKey = z.tuple([z.number().int().nonnegative(), z.string().regex(/^[0-9a-f-]{36}$/i)]);
export type OrderKey = z.infer<typeof OrderKey>;

/**
 * One page of orders, newest first, keyset on (created_at, order_id) so rows created in
 * the same millisecond are neither skipped nor repeated. `filter` narrows the query to an
 * index prefix (a client, a state); the order by then runs along that index backwards.
 */
export async function orderPage(
  deps: ApiDeps,
  listing: string,
  page: { limit: number; cursor?: OrderKey | undefined },
  filter: (query: Knex.QueryBuilder) => void,
): Promise<{ rows: OrderRow[]; nextCursor?: string }> {
  const query = deps.db("orders");
  filter(query);
  if (page.cursor) {
    const [ms, orderId] = page.cursor;
    const at = new Date(ms);
    void query.where((q) =>
      q.where("created_at", "<", at).orWhere((same) => same.where("created_at", at).andWhere("order_id", "<", orderId)),
    );
  }
  const rows = parseRows(
    OrderRow,
    await query
      .orderBy([
        { column: "created_at", order: "desc" },
        { column: "order_id", order: "desc" },
      ])
      .limit(page.limit + 1),
  );
  return pageOf(rows, page.limit, listing, (r) => [r.created_at.getTime(), r.order_id]);
}

export function orderView(
  row: OrderRow,
  items?: Array<{ product_id: string; quantity: number; unit_price_cents: number }>,
) {
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
