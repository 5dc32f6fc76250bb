import type { OrderState } from "@oms/shared";

/** An order as the checkout sees it: its one state, its lines and what they cost. */
export interface OrderItem {
  productId: string;
  quantity: number;
  unitPriceCents: number;
}

export interface Order {
  orderId: string;
  clientId: string;
  state: OrderState;
  totalCents: number;
  paymentRef: string | null;
  failureCode: string | null;
  failureReason: string | null;
  items: OrderItem[];
}

export type FailureCode =
  | "empty_cart"
  | "out_of_stock"
  | "unknown_product"
  | "payment_declined"
  | "hold_expired"
  | "checkout_in_progress"
  | "checkout_failed";

export type CreateOrderResult =
  { kind: "created" | "existing"; order: Order } | { kind: "empty_cart" } | { kind: "busy"; otherOrderId: string };
