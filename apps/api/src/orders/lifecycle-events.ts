import type { NewEvent, OrderState } from "@oms/shared";

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
  return {
    type: kind === "cancel" ? "order.cancelled" : "order.refunded",
    orderId: order.orderId,
    data: {
      orderId: order.orderId,
      clientID: order.clientId,
      previousState: order.from,
      state: order.to,
      refundId: refund.refundId,
      amountCents: refund.amountCents,
      lines: refund.lines.map((l) => ({ productID: l.productId, quantity: l.quantity, amountCents: l.amountCents })),
    },
  };
}

export function moveEvent(
  order: { orderId: string; clientId: string; from: OrderState },
  to: "fulfilled" | "shipped",
  trackingRef?: string,
): NewEvent {
  return {
    type: to === "fulfilled" ? "order.fulfilled" : "order.shipped",
    orderId: order.orderId,
    data: {
      orderId: order.orderId,
      clientID: order.clientId,
      previousState: order.from,
      ...(trackingRef === undefined ? {} : { trackingRef }),
    },
  };
}
