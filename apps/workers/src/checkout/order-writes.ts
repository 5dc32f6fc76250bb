import { appendEvents, rawRows } from "@oms/shared";
import { z } from "zod";
import { marks, tuples } from "../db/sql";
import type { WriteKind } from "../db/writer";
import type { CreateOrderResult, FailureCode, Order, OrderItem } from "./order";
import { orderFailed } from "../events/domain-events";
import { ORDER_COLUMNS, OrderRow, groupBy, itemsByOrder, toOrder } from "./order-rows";

/** A cart line locked for the snapshot, with the product's price (null: the product is gone). */
const PricedCartRow = z.object({
  client_id: z.string(),
  product_id: z.string(),
  quantity: z.number(),
  price_cents: z.number().nullable(),
});

/**
 * Creating checkout orders as a group-commit kind (ending them: order-end-writes.ts):
 * every queued order is written with multi-row statements inside the batch's
 * transaction. A replay is an outcome, never a throw, so one order's conflict does not
 * fail the others in its batch.
 */
export interface CreatePendingOp {
  orderId: string;
  clientId: string;
}

/**
 * Snapshots each client's cart into a pending order with its prices; idempotent by
 * order id. The clients' cart rows are locked (in key order, the same in every
 * process), so a second checkout of the same cart elsewhere waits, then sees the first
 * pending order and backs off. A refusal (empty cart, another checkout running) writes
 * nothing, unless the API already recorded the order (it answered 202): then that
 * order ends failed, so every order a client was told about ends in a state MySQL knows.
 */
export const createPendingOrders: WriteKind<CreatePendingOp, CreateOrderResult> = {
  name: "createPendingOrders",
  async run(trx, ops) {
    const orderIds = [...new Set(ops.map((o) => o.orderId))];
    const clients = [...new Set(ops.map((o) => o.clientId))];
    // The prices come in the same statement, from a subquery: a locking read does not
    // lock the rows its subqueries read, so only the cart rows are locked, never the
    // product rows every checkout of a hot product shares.
    const cartRows = rawRows(
      PricedCartRow,
      await trx.raw(
        `SELECT c.client_id, c.product_id, c.quantity, (SELECT p.price_cents FROM product_details p WHERE p.product_id = c.product_id) AS price_cents FROM client_cart c WHERE c.client_id IN (${marks(clients.length)}) ORDER BY c.client_id, c.product_id FOR UPDATE`,
        clients,
      ),
    );
    const priceOf = new Map(cartRows.map((r) => [r.product_id, r.price_cents ?? 0]));
    const known = rawRows(
      OrderRow,
      await trx.raw(
        `SELECT ${ORDER_COLUMNS} FROM orders WHERE order_id IN (${marks(orderIds.length)}) OR (client_id IN (${marks(clients.length)}) AND state = 'pending')`,
        [...orderIds, ...clients],
      ),
    );
    const ours = new Map(known.filter((r) => orderIds.includes(r.order_id)).map((r) => [r.order_id, r]));
    const itemsOf = await itemsByOrder(trx, [...ours.keys()]);
    const cartOf = groupBy(cartRows, (r) => r.client_id);
    const pendingOf = new Map<string, string[]>();
    for (const r of known)
      if (r.state === "pending") pendingOf.set(r.client_id, [...(pendingOf.get(r.client_id) ?? []), r.order_id]);

    type Plan =
      | { kind: "done"; result: CreateOrderResult }
      | { kind: "same"; as: number }
      | {
          kind: "create";
          op: CreatePendingOp;
          placeholder: boolean;
          lines: Array<{ product_id: string; quantity: number }>;
        };
    const plans: Plan[] = [];
    const byOrder = new Map<string, number>();
    const refusals: Array<{ orderId: string; clientId: string; code: FailureCode; reason: string }> = [];
    for (const op of ops) {
      const earlier = byOrder.get(op.orderId);
      if (earlier !== undefined) {
        // The same order twice in one batch (two deliveries of one job): one outcome.
        plans.push({ kind: "same", as: earlier });
        continue;
      }
      byOrder.set(op.orderId, plans.length);
      const row = ours.get(op.orderId);
      const items = itemsOf.get(op.orderId) ?? [];
      // A placeholder (pending, no items) is what the API records when it answers 202
      // before a worker got here: fill it in; anything else is an earlier delivery's order.
      // Another client's order is never this checkout's placeholder: answer it as it
      // stands, and the saga's ownership check refuses it for good.
      const placeholder = row?.state === "pending" && items.length === 0 && row.client_id === op.clientId;
      if (row && !placeholder) {
        plans.push({ kind: "done", result: { kind: "existing", order: toOrder(row, items) } });
        continue;
      }
      const cart = cartOf.get(op.clientId) ?? [];
      if (cart.length === 0) {
        if (placeholder)
          refusals.push({
            orderId: op.orderId,
            clientId: op.clientId,
            code: "empty_cart",
            reason: "the cart was empty",
          });
        plans.push({ kind: "done", result: { kind: "empty_cart" } });
        continue;
      }
      const other = (pendingOf.get(op.clientId) ?? []).find((id) => id !== op.orderId);
      if (other) {
        if (placeholder)
          refusals.push({
            orderId: op.orderId,
            clientId: op.clientId,
            code: "checkout_in_progress",
            reason: `another checkout of this cart is in progress (order ${other})`,
          });
        plans.push({ kind: "done", result: { kind: "busy", otherOrderId: other } });
        continue;
      }
      pendingOf.set(op.clientId, [op.orderId]);
      plans.push({ kind: "create", op, placeholder, lines: cart });
    }

    const creates = plans.flatMap((p) => (p.kind === "create" ? [p] : []));
    const orders = creates.map((c) => {
      const items: OrderItem[] = c.lines.map((l) => ({
        productId: l.product_id,
        quantity: l.quantity,
        unitPriceCents: priceOf.get(l.product_id) ?? 0,
      }));
      const order: Order = {
        orderId: c.op.orderId,
        clientId: c.op.clientId,
        state: "pending",
        totalCents: items.reduce((sum, i) => sum + i.quantity * i.unitPriceCents, 0),
        paymentRef: null,
        failureCode: null,
        failureReason: null,
        failureProductId: null,
        failureAvailable: null,
        items,
      };
      return order;
    });
    if (orders.length > 0) {
      // A placeholder row is filled in by the same statement (its total was 0).
      await trx.raw(
        `INSERT INTO orders (order_id, client_id, state, total_cents) VALUES ${tuples(orders.length, 4)} ON DUPLICATE KEY UPDATE total_cents = VALUES(total_cents)`,
        orders.flatMap((o) => [o.orderId, o.clientId, "pending", o.totalCents]),
      );
      const items = orders.flatMap((o) => o.items.map((i) => [o.orderId, i.productId, i.quantity, i.unitPriceCents]));
      await trx.raw(
        `INSERT INTO order_items (order_id, product_id, quantity, unit_price_cents) VALUES ${tuples(items.length, 4)}`,
        items.flat(),
      );
    }
    for (const r of refusals) {
      await trx.raw(
        "UPDATE orders SET state = 'failed', failure_code = ?, failure_reason = ? WHERE order_id = ? AND state = 'pending'",
        [r.code, r.reason, r.orderId],
      );
    }
    // The placeholder was pending (locked with the cart rows above): each UPDATE ended it.
    await appendEvents(
      trx,
      refusals.map((r) => orderFailed(r.orderId, r.clientId, r)),
    );
    let created = 0;
    const results: CreateOrderResult[] = [];
    for (const p of plans) {
      if (p.kind === "done") results.push(p.result);
      else if (p.kind === "same") {
        const first = results[p.as];
        if (!first) throw new Error("createPendingOrders: an order's first op has no outcome");
        results.push(first.kind === "created" ? { kind: "existing", order: first.order } : first);
      } else {
        const order = orders[created++];
        if (!order) throw new Error("createPendingOrders lost an order");
        results.push({ kind: "created", order });
      }
    }
    return results;
  },
};
