/**
 * No lost order and no double charge: at rest no order is pending, and every paid order
 * (completed, or moved on by its lifecycle: cancelled, refunded, shipped ...) has exactly
 * one succeeded payment of its total, under its reference; nothing else was charged.
 */
import { OrderState, wasPaid } from "@oms/shared";
import { Check } from "./check";
import type { OrderRow, PaymentRow } from "./figures";

/** A cancelled, refunded or shipped order completed its checkout: its charge stands. */
export function paid(o: OrderRow): boolean {
  const state = OrderState.safeParse(o.state);
  return state.success && wasPaid(state.data);
}

export function terminalCheck(orders: OrderRow[]): Check {
  const check = new Check("no order left pending, every order in a known state");
  for (const o of orders) {
    check.count();
    if (o.state === "pending") check.fail(`order ${o.order_id} (client ${o.client_id}) is still pending`);
    else if (!OrderState.safeParse(o.state).success) check.fail(`order ${o.order_id} has unknown state ${o.state}`);
  }
  return check;
}

/**
 * `orders` are the orders examined (a test's own, or all); `knownOrderIds` every order
 * MySQL has. A payment of an order outside those examined is checked only for having an
 * order at all: its details are another test's business.
 */
export function paymentCheck(orders: OrderRow[], payments: PaymentRow[], knownOrderIds: Set<string>): Check {
  const check = new Check("exactly one charge of its total per paid order, none other");
  const orderById = new Map(orders.map((o) => [o.order_id, o]));
  const paymentsByOrder = new Map<string, PaymentRow[]>();
  for (const p of payments) {
    check.count();
    if (!knownOrderIds.has(p.order_id)) {
      check.fail(`payment ${p.idempotency_key} (${p.status}) has no order ${p.order_id}`);
      continue;
    }
    const o = orderById.get(p.order_id);
    if (!o) continue;
    paymentsByOrder.set(p.order_id, [...(paymentsByOrder.get(p.order_id) ?? []), p]);
    if (p.idempotency_key !== p.order_id)
      check.fail(`payment ${p.idempotency_key} is not keyed by its order id ${p.order_id}`);
    if (p.status === "succeeded" && !paid(o))
      check.fail(`order ${o.order_id} is ${o.state} but its payment succeeded (not refunded)`);
  }
  for (const [orderId, list] of paymentsByOrder)
    if (list.length > 1) check.fail(`order ${orderId} has ${list.length} payment rows`);
  for (const o of orders) {
    if (!paid(o)) continue;
    check.count();
    const charged = (paymentsByOrder.get(o.order_id) ?? []).filter((p) => p.status === "succeeded");
    const [charge] = charged;
    if (charged.length !== 1 || !charge) {
      check.fail(`completed order ${o.order_id} has ${charged.length} succeeded payments`);
      continue;
    }
    if (charge.amount_cents !== o.total_cents)
      check.fail(`order ${o.order_id}: charged ${charge.amount_cents}, total ${o.total_cents}`);
    if (charge.provider_ref !== o.payment_ref)
      check.fail(`order ${o.order_id}: payment_ref ${o.payment_ref} != charge ${charge.provider_ref}`);
  }
  return check;
}
