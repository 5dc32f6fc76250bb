import { appendEvents, rawRows, type Knex, type NewEvent } from "@oms/shared";
import { z } from "zod";
import { marks } from "../db/sql";
import type { Failure, Order } from "../checkout/order";

/**
 * The events the checkout and the stock flush emit, built where the change is written
 * and appended (appendEvents) in the same transaction, one INSERT per batch.
 */

export function orderCompleted(order: Order, paymentRef: string): NewEvent {
  return {
    type: "order.completed",
    orderId: order.orderId,
    data: {
      orderId: order.orderId,
      clientID: order.clientId,
      totalCents: order.totalCents,
      paymentRef,
      items: order.items.map((i) => ({
        productID: i.productId,
        quantity: i.quantity,
        unitPriceCents: i.unitPriceCents,
      })),
    },
  };
}

export function orderFailed(orderId: string, clientId: string, failure: Failure): NewEvent {
  return {
    type: "order.failed",
    orderId,
    data: {
      orderId,
      clientID: clientId,
      failureCode: failure.code,
      failureReason: failure.reason,
      ...(failure.productId === undefined ? {} : { productID: failure.productId }),
      ...(failure.available === undefined ? {} : { available: failure.available }),
    },
  };
}

const LevelRow = z.object({ product_id: z.string(), quantity: z.number() });

/**
 * After `taken` units were decremented from product_details in this transaction: appends
 * `stock.out` for each product that went from above 0 to 0, and `stock.low` for each that
 * went from above `threshold` to `threshold` or below. One SELECT of the rows the
 * decrement already locked, and one INSERT when any crossed.
 */
export async function appendStockCrossings(
  trx: Knex.Transaction,
  taken: ReadonlyMap<string, number>,
  threshold: number,
): Promise<void> {
  if (taken.size === 0) return;
  const ids = [...taken.keys()];
  const levels = rawRows(
    LevelRow,
    await trx.raw(`SELECT product_id, quantity FROM product_details WHERE product_id IN (${marks(ids.length)})`, ids),
  );
  const events: NewEvent[] = [];
  for (const { product_id: productId, quantity } of levels) {
    const before = quantity + (taken.get(productId) ?? 0);
    const type =
      quantity === 0 && before > 0 ? "stock.out" : before > threshold && quantity <= threshold ? "stock.low" : null;
    if (type) events.push({ type, productId, data: { productID: productId, quantity, threshold } });
  }
  await appendEvents(trx, events);
}
