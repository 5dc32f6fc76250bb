import type { EventType, NewEvent, OrderState } from "@oms/shared";

/**
 * The events of the moves after checkout, appended (appendEvents) in the move's own
 * transaction, after transitionOrder changed the order's row. A move that changes nothing
 * (fulfil again, a keyed refund retried) has no event.
 */

export function refundEvent(
  kind: "cancel" | "refund",
  order: { orderId: string; clientId: string; from: OrderState; to: OrderState },
  refund: {
    refundId: string;
    amountCents: number;
    lines: ReadonlyArray<{ productId: string; quantity: number; amountCents: number }>;
  },
): NewEvent {
  return orderEvent(kind === "cancel" ? "order.cancelled" : "order.refunded", order, {
    state: order.to,
    refundId: refund.refundId,
    amountCents: refund.amountCents,
    lines: refund.lines.map((l) => ({ productID: l.productId, quantity: l.quantity, amountCents: l.amountCents })),
  });
}

export function moveEvent(
  order: { orderId: string; clientId: string; from: OrderState },
  to: "fulfilled" | "shipped",
  trackingRef?: string,
): NewEvent {
  return orderEvent(
    to === "fulfilled" ? "order.fulfilled" : "order.shipped",
    order,
    trackingRef === undefined ? {} : { trackingRef },
  );
}

/** Every move's event names the order, its client and the state it left, then what is the move's own. */
function orderEvent(
  type: EventType,
  order: { orderId: string; clientId: string; from: OrderState },
  own: Record<string, unknown>,
): NewEvent {
  return {
    type,
    orderId: order.orderId,
    data: { orderId: order.orderId, clientID: order.clientId, previousState: order.from, ...own },
  };
}
