import type { Knex } from "./db";
import { ORDER_STATES, type OrderState } from "./schemas";

/**
 * The one table of the order's states and the moves between them. A move that is not
 * listed is refused (409 INVALID_TRANSITION). The checkout writes pending -> completed
 * and pending -> failed in its own batched statements (they are the commit's hot path);
 * every move after that goes through `transitionOrder` below.
 *
 * - completed: paid, not yet fulfilled.
 * - partially_refunded: some lines refunded before fulfilment; the rest still to ship.
 * - fulfilled / shipped: a partial refund keeps the state (the refunds are listed beside
 *   it), so the order never forgets that it left the warehouse; refunding all that is
 *   left makes it refunded.
 * - cancelled (by the client, before fulfilment), refunded and failed are final.
 */
export const ORDER_TRANSITIONS: Readonly<Record<OrderState, readonly OrderState[]>> = {
  pending: ["completed", "failed"],
  completed: ["cancelled", "partially_refunded", "refunded", "fulfilled", "shipped"],
  partially_refunded: ["cancelled", "partially_refunded", "refunded", "fulfilled", "shipped"],
  fulfilled: ["fulfilled", "refunded", "shipped"],
  shipped: ["shipped", "refunded"],
  failed: [],
  cancelled: [],
  refunded: [],
};

export function canTransition(from: OrderState, to: OrderState): boolean {
  return ORDER_TRANSITIONS[from].includes(to);
}

/** The states `to` may be reached from (for an error message or a conditional UPDATE). */
export function statesLeadingTo(to: OrderState): OrderState[] {
  return ORDER_STATES.filter((from) => canTransition(from, to));
}

/**
 * States of an order whose checkout completed: the charge stands (refunds are recorded
 * beside it, never by undoing it) and its stock was sold. A replayed checkout job that
 * finds its order in any of them answers "completed" and compensates nothing.
 */
export const PAID_STATES: readonly OrderState[] = [
  "completed",
  "partially_refunded",
  "fulfilled",
  "shipped",
  "cancelled",
  "refunded",
];

export function wasPaid(state: OrderState): boolean {
  return PAID_STATES.includes(state);
}

/** Columns a move may set beside the state (timestamps and the tracking reference). */
export interface TransitionFields {
  refunded_cents?: Knex.Raw | number;
  tracking_ref?: string | null;
}

const STAMP: Partial<Record<OrderState, string>> = {
  cancelled: "cancelled_at",
  fulfilled: "fulfilled_at",
  shipped: "shipped_at",
};

export type TransitionResult = { ok: true; from: OrderState; to: OrderState } | { ok: false; from: OrderState };

/**
 * The one place an order's state changes after its checkout, inside the caller's
 * transaction (where an outbox row for the change belongs too). `from` is the state the
 * caller read with the row locked (SELECT ... FOR UPDATE); the UPDATE is conditional on
 * it anyway, so a caller that forgot the lock still cannot win a race it lost.
 */
export async function transitionOrder(
  trx: Knex.Transaction,
  orderId: string,
  from: OrderState,
  to: OrderState,
  fields: TransitionFields = {},
): Promise<TransitionResult> {
  if (!canTransition(from, to)) return { ok: false, from };
  const stamp = STAMP[to];
  const changes: Record<string, unknown> = { state: to, ...fields };
  // A self-move (another partial refund of a shipped order) keeps the first timestamp.
  if (stamp && from !== to) changes[stamp] = trx.raw("NOW(3)");
  // mysql2 counts matched rows (CLIENT_FOUND_ROWS), so a self-move that changes no column
  // (fulfil again) still counts as made; packages/shared/test/order-transitions.test.ts pins it.
  const matched = await trx("orders").where({ order_id: orderId, state: from }).update(changes);
  if (matched !== 1) return { ok: false, from };
  return { ok: true, from, to };
}
