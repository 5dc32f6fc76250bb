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
  /** out_of_stock: the product that ran short, and how many of it were left. */
  failureProductId: string | null;
  failureAvailable: number | null;
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

/** Why an order failed, as fields: a replay answers from them. */
export interface Failure {
  code: FailureCode;
  reason: string;
  productId?: string;
  available?: number;
}
