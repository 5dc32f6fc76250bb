import { z } from "zod";
import { dbNumber, OrderState } from "@oms/shared";

/** The rows the order lifecycle (./lifecycle.ts) reads: orders, their items and their refunds. */

export const LockedOrder = z.object({ order_id: z.string(), client_id: z.string(), state: OrderState });
export type LockedOrder = z.infer<typeof LockedOrder>;

const RefundStatus = z.enum(["pending", "succeeded"]);

export const RecordedRefund = z.object({ amount_cents: dbNumber, status: RefundStatus });

export const RefundItem = z.object({
  refund_id: z.string(),
  product_id: z.string(),
  quantity: z.number(),
  amount_cents: dbNumber,
});

export const Refund = z.object({
  refund_id: z.string(),
  kind: z.enum(["cancel", "refund"]),
  amount_cents: dbNumber,
  status: RefundStatus,
  provider_ref: z.string().nullable(),
  created_at: z.date(),
  refunded_at: z.date().nullable(),
});

/** An order line with the units of it refunded so far (`back`: a SUM, null when none). */
export const RefundableItem = z.object({
  product_id: z.string(),
  quantity: z.number(),
  unit_price_cents: z.number(),
  back: dbNumber.nullable(),
});
