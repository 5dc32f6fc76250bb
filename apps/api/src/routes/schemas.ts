import { z } from "zod";
import { EVENT_TYPES, Envelope, ERROR_CODES, ORDER_STATES } from "@oms/shared";

/**
 * The response bodies the route table names. Requests are validated by the schemas in
 * @oms/shared; these describe what comes back, so the OpenAPI document has one source for both.
 */
export const Failed = Envelope.extend({
  status: z.literal("Failed"),
  code: z.enum(ERROR_CODES).describe("Machine-readable reason; each code has one HTTP status"),
}).meta({
  description: "The original envelope; `error` says what went wrong, `code` says it for machines",
});

/** A page's `nextCursor`: absent on the last page. */
const NextCursor = z.string().optional().describe("Pass as ?cursor= for the next page; absent on the last page");
const int = () => z.number().int();

export const CartAdded = Envelope.extend({ quantityInCart: int(), available: int() });
export const CheckoutDone = Envelope.extend({
  orderId: z.uuid(),
  state: z.enum(["completed", "failed", "pending"]),
  totalCents: int().optional(),
  productID: z.string().optional().describe("The product that ran short (409)"),
});
const CartItem = z.object({
  productID: z.string(),
  productName: z.string(),
  quantity: int(),
  unitPriceCents: int(),
  available: int(),
});
export const CartView = Envelope.extend({ clientID: z.string(), totalCents: int(), items: z.array(CartItem) });
export const CartLineSet = Envelope.extend({
  clientID: z.string(),
  productID: z.string(),
  quantityInCart: int().describe("What the line holds now; 0 when it was removed"),
  available: int().optional().describe("Units that can still be reserved (absent for a removal)"),
});
export const CartCleared = Envelope.extend({ clientID: z.string(), removedLines: int() });

const Product = z.object({
  productID: z.string(),
  productName: z.string(),
  priceCents: int(),
  quantity: int().describe("Units in the warehouse per MySQL, including sold units not yet flushed"),
  available: int().describe("Units that can still be reserved"),
});
export const ProductList = Envelope.extend({ products: z.array(Product), limit: int(), nextCursor: NextCursor });
export const ProductView = Envelope.extend({ product: Product });

const Refund = z.object({
  refundId: z.uuid(),
  kind: z.enum(["cancel", "refund"]),
  amountCents: int(),
  status: z.enum(["pending", "succeeded"]).describe("pending until the payment provider confirmed it"),
  providerRef: z.string().nullable(),
  createdAt: z.iso.datetime(),
  refundedAt: z.iso.datetime().nullable(),
  lines: z
    .array(z.object({ productID: z.string(), quantity: int(), amountCents: int() }))
    .describe("Units returned to stock"),
});
const at = () => z.iso.datetime().nullable();
const Order = z.object({
  orderId: z.uuid(),
  clientID: z.string(),
  state: z.enum(ORDER_STATES),
  totalCents: int(),
  refundedCents: int(),
  paymentRef: z.string().nullable(),
  trackingRef: z.string().nullable(),
  failureCode: z.string().nullable(),
  failureReason: z.string().nullable(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  completedAt: at(),
  cancelledAt: at(),
  fulfilledAt: at(),
  shippedAt: at(),
  items: z.array(z.object({ productID: z.string(), quantity: int(), unitPriceCents: int() })).optional(),
  refunds: z.array(Refund).optional().describe("GET /orders/{orderId} only"),
});
export const OrderView = Envelope.extend({ order: Order });
export const OrderList = Envelope.extend({
  clientID: z.string(),
  orders: z.array(Order),
  limit: int(),
  nextCursor: NextCursor,
});
export const AdminOrderList = Envelope.extend({ orders: z.array(Order), limit: int(), nextCursor: NextCursor });
export const OrderMoved = Envelope.extend({
  orderId: z.uuid(),
  state: z.enum(ORDER_STATES),
  previousState: z.enum(ORDER_STATES),
  trackingRef: z.string().optional(),
  replayed: z.boolean().optional().describe("A keyed refund retried: its first refund, answered again"),
  refund: Refund.pick({ refundId: true, amountCents: true, status: true, lines: true }).optional(),
});
export const AdminResult = Envelope.catchall(z.unknown());
export const Health = z.object({ status: z.string(), checks: z.record(z.string(), z.boolean()).optional() });

const Webhook = z.object({
  id: z.uuid(),
  url: z.string(),
  events: z.array(z.enum(EVENT_TYPES)),
  createdAt: z.iso.datetime(),
  deletedAt: z.iso.datetime().optional(),
});
const Delivery = z.object({
  eventId: z.uuid(),
  type: z.enum(EVENT_TYPES),
  orderId: z.uuid().nullable(),
  status: z.enum(["pending", "delivered", "failed", "cancelled"]),
  attempts: int(),
  lastStatusCode: int().nullable(),
  lastError: z.string().nullable(),
  waitingFor: z.uuid().nullable().describe("An earlier event of the same order this delivery waits for"),
  nextAttemptAt: at().describe("When a pending delivery is tried next"),
  deliveredAt: at(),
  createdAt: z.iso.datetime(),
  tries: z.array(
    z.object({
      attempt: int(),
      statusCode: int().nullable().describe("null: no HTTP answer (see error)"),
      error: z.string().nullable(),
      durationMs: int(),
      at: z.iso.datetime(),
    }),
  ),
});
export const WebhookView = Envelope.extend({ webhook: Webhook });
export const WebhookList = Envelope.extend({ webhooks: z.array(Webhook) });
export const DeliveryList = Envelope.extend({
  webhook: Webhook,
  deliveries: z.array(Delivery),
  limit: int(),
  nextCursor: z.string().optional().describe("Pass as ?cursor= for the next (older) page; absent on the last"),
});
