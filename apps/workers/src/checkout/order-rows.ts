import { dbNumber, OrderState, rawRows, type Knex } from "@oms/shared";
import { z } from "zod";
import { marks } from "../db/sql";
import type { Order } from "./order";

/** Orders and their items as MySQL holds them, and reading them back in one query per batch. */
export const OrderRow = z.object({
  order_id: z.string(),
  client_id: z.string(),
  state: OrderState,
  total_cents: dbNumber,
  payment_ref: z.string().nullable(),
  failure_code: z.string().nullable(),
  failure_reason: z.string().nullable(),
  failure_product_id: z.string().nullable(),
  failure_available: z.number().nullable(),
});
export type OrderRow = z.infer<typeof OrderRow>;

export const ItemRow = z.object({
  order_id: z.string(),
  product_id: z.string(),
  quantity: z.number(),
  unit_price_cents: z.number(),
});
export type ItemRow = z.infer<typeof ItemRow>;

export const ORDER_COLUMNS =
  "order_id, client_id, state, total_cents, payment_ref, failure_code, failure_reason, failure_product_id, failure_available";

export function toOrder(row: OrderRow, items: ReadonlyArray<Omit<ItemRow, "order_id">>): Order {
  return {
    orderId: row.order_id,
    clientId: row.client_id,
    state: row.state,
    totalCents: Number(row.total_cents),
    paymentRef: row.payment_ref,
    failureCode: row.failure_code,
    failureReason: row.failure_reason,
    failureProductId: row.failure_product_id ?? null,
    failureAvailable: row.failure_available ?? null,
    items: items.map((i) => ({ productId: i.product_id, quantity: i.quantity, unitPriceCents: i.unit_price_cents })),
  };
}

export function headOf(row: OrderRow): Omit<Order, "items"> {
  const { items: _items, ...head } = toOrder(row, []);
  return head;
}

export async function itemsByOrder(trx: Knex.Transaction, orderIds: string[]): Promise<Map<string, ItemRow[]>> {
  if (orderIds.length === 0) return new Map();
  const rows = rawRows(
    ItemRow,
    await trx.raw(
      `SELECT order_id, product_id, quantity, unit_price_cents FROM order_items WHERE order_id IN (${marks(orderIds.length)}) ORDER BY order_id, product_id`,
      orderIds,
    ),
  );
  return groupBy(rows, (r) => r.order_id);
}

export function groupBy<T>(rows: readonly T[], keyOf: (row: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const row of rows) {
    const key = keyOf(row);
    const group = groups.get(key);
    if (group) group.push(row);
    else groups.set(key, [row]);
  }
  return groups;
}
