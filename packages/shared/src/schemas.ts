import { z } from "zod";
import { ERROR_CODES } from "./errors";

/**
 * Ids were UUIDs in the original and are stored as varchar(100). An id is taken exactly
 * as sent, never trimmed: the rate limiter, the JWT check and the idempotency scope see
 * the raw value before any handler does, so a padded spelling of an id would be another
 * client to them and the same client to MySQL. Padded ids are refused instead.
 */
export const Id = z
  .string()
  .min(1, "must not be empty")
  .max(100, "must be at most 100 characters")
  .refine((s) => s.trim().length > 0, "must not be empty or only whitespace")
  .refine((s) => s.trim() === s || s.trim().length === 0, "must not start or end with whitespace")
  .refine((s) => !/\p{Cc}/u.test(s), "must not contain control characters")
  .refine((s) => !/\p{Cs}/u.test(s), "must be well-formed Unicode (no lone surrogates)");

export const Quantity = z
  .number()
  .int("must be an integer")
  .positive("must be positive")
  .max(1_000_000, "must be at most 1000000");

export const AddToCartRequest = z.object({
  clientID: Id.describe("The shopper"),
  productID: Id.describe("The product to add"),
  quantity: Quantity.describe("How many to add to what the cart already holds"),
});
export type AddToCartRequest = z.infer<typeof AddToCartRequest>;

export const PaymentToken = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9_.:-]+$/, "must be a token such as tok_ok");

export const CheckOutCartRequest = z.object({
  clientID: Id.describe("The shopper whose cart is checked out"),
  paymentToken: PaymentToken.default("tok_ok").describe(
    "Payment method token (simulator: tok_ok, tok_decline, tok_error)",
  ),
});
export type CheckOutCartRequest = z.infer<typeof CheckOutCartRequest>;

/** The original service's envelope; we add fields beside it. */
export const Envelope = z.object({
  status: z.enum(["Success", "Failed", "Pending"]),
  error: z.string(),
});
export type Envelope = z.infer<typeof Envelope>;

export const CartLine = z.object({ productId: Id, quantity: Quantity });
export type CartLine = z.infer<typeof CartLine>;

// ---- Jobs: payloads are a union on `type`, results are values, not exceptions. ----

/** The API process's reply key the worker pushes the result to (see JobReply). */
const ReplyTo = z.string().max(200).optional();

export const AddToCartJob = z.object({
  type: z.literal("addToCart"),
  replyTo: ReplyTo,
  clientId: Id,
  productId: Id,
  quantity: Quantity,
  requestId: z.string().max(100).optional(),
});
export type AddToCartJob = z.infer<typeof AddToCartJob>;

export const CheckoutJob = z.object({
  type: z.literal("checkout"),
  replyTo: ReplyTo,
  orderId: z.uuid(),
  clientId: Id,
  paymentToken: PaymentToken,
  requestId: z.string().max(100).optional(),
});
export type CheckoutJob = z.infer<typeof CheckoutJob>;

export const InventoryJob = z.discriminatedUnion("type", [
  z.object({ type: z.literal("flush") }),
  z.object({ type: z.literal("sweepHolds") }),
  z.object({ type: z.literal("reconcile") }),
  z.object({ type: z.literal("prune") }),
  /** Carry a recorded refund to the payment provider (keyed by the refund id: never twice). */
  z.object({ type: z.literal("refund"), refundId: z.uuid() }),
]);
export type InventoryJob = z.infer<typeof InventoryJob>;

/** What a worker pushes to the reply key of the API process that waits for a job. */
export const JobReply = z.object({
  queue: z.enum(["cart", "checkout"]),
  jobId: z.string(),
  ok: z.boolean(),
  value: z.unknown().optional(),
  reason: z.string().optional(),
  /** Why a job failed, classified by the worker that saw the error (its message is for people). */
  code: z.enum(ERROR_CODES).optional(),
});
export type JobReply = z.infer<typeof JobReply>;

/*
 * What a cart or checkout job returns: the worker's answer, read back by the API process
 * that waits for it (JobReply.value, job.returnvalue), so it is parsed there.
 */
export const UnknownProduct = z.object({ outcome: z.literal("unknown_product"), productId: z.string() });
export const InsufficientStock = z.object({
  outcome: z.literal("insufficient_stock"),
  productId: z.string(),
  available: z.number(),
  requested: z.number(),
});

export const CartResult = z.discriminatedUnion("outcome", [
  z.object({ outcome: z.literal("added"), quantityInCart: z.number(), available: z.number() }),
  UnknownProduct,
  InsufficientStock,
]);
export type CartResult = z.infer<typeof CartResult>;

export const CheckoutResult = z.discriminatedUnion("outcome", [
  z.object({ outcome: z.literal("completed"), orderId: z.string(), totalCents: z.number() }),
  z.object({ outcome: z.literal("declined"), orderId: z.string(), reason: z.string() }),
  z.object({ outcome: z.literal("out_of_stock"), orderId: z.string(), productId: z.string(), available: z.number() }),
  z.object({ outcome: z.literal("empty_cart"), orderId: z.string() }),
  z.object({ outcome: z.literal("failed"), orderId: z.string(), reason: z.string() }),
]);
export type CheckoutResult = z.infer<typeof CheckoutResult>;

/** Every state an order can be in; the moves between them are in order-transitions.ts. */
export const ORDER_STATES = [
  "pending",
  "completed",
  "failed",
  "cancelled",
  "partially_refunded",
  "refunded",
  "fulfilled",
  "shipped",
] as const;
export type OrderState = (typeof ORDER_STATES)[number];
export const OrderState = z.enum(ORDER_STATES);

export const QUEUE_NAMES = { cart: "cart", checkout: "checkout", inventory: "inventory" } as const;
export type QueueName = keyof typeof QUEUE_NAMES;

/**
 * The event pipeline's queues: consumed beside `inventory`, not by worker processes of
 * their own (so not QueueName). Here beside QUEUE_NAMES so the keyspace can tag them.
 */
export const EVENT_QUEUE_NAMES = { events: "events", webhooks: "webhooks" } as const;
export type EventQueueName = keyof typeof EVENT_QUEUE_NAMES;

// ---- Admin ----

export const Cents = z
  .number()
  .int("must be an integer")
  .min(0, "must not be negative")
  .max(100_000_000, "must be at most 100000000");
/** The most units one product may hold: a set above it is a 400, an add past it a 409. */
export const MAX_STOCK_LEVEL = 1_000_000_000;

export const StockLevel = z
  .number()
  .int("must be an integer")
  .min(0, "must not be negative")
  .max(MAX_STOCK_LEVEL, `must be at most ${MAX_STOCK_LEVEL}`);

export const UpsertProductRequest = z.object({
  productID: Id.describe("Product id (kept if it exists)"),
  productName: z
    .string()
    .trim()
    .min(1, "must not be empty")
    .max(255, "must be at most 255 characters")
    .describe("Display name"),
  priceCents: Cents.describe("Unit price in integer cents"),
  quantity: StockLevel.describe("Units in the warehouse (sets the level; use restock to add)"),
});
export type UpsertProductRequest = z.infer<typeof UpsertProductRequest>;

export const RestockRequest = z
  .object({
    add: z
      .number()
      .int("must be an integer")
      .positive("must be positive")
      .max(MAX_STOCK_LEVEL, `must be at most ${MAX_STOCK_LEVEL}`)
      .optional()
      .describe(`Units to add; the level may not pass ${MAX_STOCK_LEVEL}`),
    set: StockLevel.optional().describe("New warehouse level"),
  })
  .refine((r) => (r.add === undefined) !== (r.set === undefined), {
    message: "give exactly one of add or set",
    path: ["add"],
  });
export type RestockRequest = z.infer<typeof RestockRequest>;

// ---- Order lifecycle ----

export const RefundLine = z.object({
  productID: Id.describe("A product of the order"),
  quantity: Quantity.describe("Units of it to refund (and return to stock)"),
});

export const RefundRequest = z
  .object({
    lines: z
      .array(RefundLine)
      .min(1, "must list at least one line; send no body to refund the whole order")
      .max(100, "must list at most 100 lines")
      .optional()
      .describe("Lines to refund; absent: everything not yet refunded"),
  })
  .strict();
export type RefundRequest = z.infer<typeof RefundRequest>;

export const ShipRequest = z
  .object({
    trackingRef: z
      .string()
      .min(1, "must not be empty")
      .max(100, "must be at most 100 characters")
      .refine((s) => !/\p{Cc}/u.test(s), "must not contain control characters")
      .optional()
      .describe("The carrier's tracking reference"),
  })
  .strict();
export type ShipRequest = z.infer<typeof ShipRequest>;
