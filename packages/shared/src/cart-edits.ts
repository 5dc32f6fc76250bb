import { z } from "zod";
import { AddToCartJob, Id, InsufficientStock, UnknownProduct } from "./schemas";

/** PUT /cart/:clientID/items/:productID: the line's new quantity; 0 removes it. */
export const SetCartLineRequest = z.object({
  quantity: z
    .number()
    .int("must be an integer")
    .min(0, "must not be negative")
    .max(1_000_000, "must be at most 1000000")
    .describe("The quantity the cart line is set to (not added); 0 removes the line"),
});
export type SetCartLineRequest = z.infer<typeof SetCartLineRequest>;

/**
 * Cart jobs beyond addToCart. A line set (0 removes it) and a whole-cart clear go
 * through the cart queue as adds do, so the same workers apply them, the same replay
 * record (cart_operations, keyed by job id) keeps a re-delivery from applying twice,
 * and the same group-commit writer batches them.
 */
export const SetCartLineJob = z.object({
  type: z.literal("setCartLine"),
  replyTo: z.string().max(200).optional(),
  clientId: Id,
  productId: Id,
  quantity: SetCartLineRequest.shape.quantity,
  requestId: z.string().max(100).optional(),
});
export type SetCartLineJob = z.infer<typeof SetCartLineJob>;

export const ClearCartJob = z.object({
  type: z.literal("clearCart"),
  replyTo: z.string().max(200).optional(),
  clientId: Id,
  requestId: z.string().max(100).optional(),
});
export type ClearCartJob = z.infer<typeof ClearCartJob>;

/**
 * A field of the API's copy of a cart (keys.cartMirror) that no product id can be (ids
 * are never empty): present once the cart was edited. Only an edit can lower a line, and
 * a copy written out of order by two worker processes can then say more than MySQL; the
 * sold-out fast path confirms its refusals in MySQL for such a cart, and only for such a
 * cart, so checkouts of carts built by adds alone stay answered from Redis.
 */
export const CART_COPY_EDITED = "";

/** Every job of the cart queue: a union on `type`, handled by a switch that checks it is exhaustive. */
export const CartJob = z.discriminatedUnion("type", [AddToCartJob, SetCartLineJob, ClearCartJob]);
export type CartJob = z.infer<typeof CartJob>;

/** Why an edit was refused while the client's checkout runs: the order's snapshot must not move. */
export const CheckoutInProgress = z.object({ outcome: z.literal("checkout_in_progress"), clientId: z.string() });
export type CheckoutInProgress = z.infer<typeof CheckoutInProgress>;

export const SetCartLineResult = z.discriminatedUnion("outcome", [
  z.object({ outcome: z.literal("set"), quantityInCart: z.number(), available: z.number().nullable() }),
  UnknownProduct,
  InsufficientStock,
  CheckoutInProgress,
]);
export type SetCartLineResult = z.infer<typeof SetCartLineResult>;

export const ClearCartResult = z.discriminatedUnion("outcome", [
  z.object({ outcome: z.literal("cleared"), removedLines: z.number() }),
  CheckoutInProgress,
]);
export type ClearCartResult = z.infer<typeof ClearCartResult>;
