import { UnrecoverableError } from "bullmq";
import { dbNumber, parseRow, parseRows, type Knex, type Logger, errorMessage } from "@oms/shared";
import { z } from "zod";
import { RefundRefusedError, type RefundGateway } from "./provider";

/**
 * Carries recorded refunds to the payment provider. The refund row was written with the
 * order's state change (the API, one transaction), so from here on the refund only has
 * to land, once: the provider is asked with the refund id as idempotency key, and the row
 * is marked succeeded only after it answered. A crash between the two leaves the row
 * pending; the next try asks again with the same key and gets the first refund back.
 */

const RefundRow = z.object({
  refund_id: z.string(),
  order_id: z.string(),
  amount_cents: dbNumber,
  status: z.enum(["pending", "succeeded"]),
});
const RefundIdRow = z.object({ refund_id: z.string() });

export type SettleOutcome = "refunded" | "already_refunded" | "nothing_to_refund" | "unknown_refund";

export interface RefundDeps {
  db: Knex;
  refunds: RefundGateway;
  logger: Logger;
  /** Testing only: the chaos suite kills the worker between the provider's answer and the row's update. */
  checkpoint?: () => Promise<void>;
}

export async function settleRefund(deps: RefundDeps, refundId: string): Promise<SettleOutcome> {
  const row = parseRow(RefundRow, await deps.db("refunds").where({ refund_id: refundId }).first());
  if (!row) return "unknown_refund";
  if (row.status === "succeeded") return "already_refunded";
  const amountCents = Number(row.amount_cents);
  if (amountCents === 0) {
    // An order whose lines were all free: nothing to move, the refund is done.
    await markSucceeded(deps.db, refundId, null);
    return "nothing_to_refund";
  }
  let reference: string;
  try {
    ({ reference } = await deps.refunds.refundCharge({
      idempotencyKey: refundId,
      chargeKey: row.order_id,
      amountCents,
    }));
  } catch (err) {
    const message = errorMessage(err);
    await deps
      .db("refunds")
      .where({ refund_id: refundId })
      .update({ attempts: deps.db.raw("attempts + 1"), last_error: message.slice(0, 500) });
    // A refusal is for people to look at (the books disagree); the sweep asks again later.
    if (err instanceof RefundRefusedError) throw new UnrecoverableError(`refund ${refundId} refused: ${message}`);
    throw err;
  }
  await deps.checkpoint?.();
  await markSucceeded(deps.db, refundId, reference);
  deps.logger.info({ refundId, orderId: row.order_id, amountCents, reference }, "refund confirmed by the provider");
  return "refunded";
}

async function markSucceeded(db: Knex, refundId: string, reference: string | null): Promise<void> {
  await db("refunds")
    .where({ refund_id: refundId, status: "pending" })
    .update({
      status: "succeeded",
      provider_ref: reference,
      attempts: db.raw("attempts + 1"),
      last_error: null,
      refunded_at: db.raw("NOW(3)"),
    });
}

/**
 * The safety net, run with the hold sweep: refunds still pending `olderThanMs` after they
 * were last tried (their job was never queued, was lost with Redis, or failed). Each try
 * moves updated_at, so a refund the provider keeps refusing is asked again only that often.
 */
export async function settlePendingRefunds(deps: RefundDeps, olderThanMs: number, limit = 100): Promise<number> {
  const rows = parseRows(
    RefundIdRow,
    await deps
      .db("refunds")
      .where({ status: "pending" })
      .where("updated_at", "<", new Date(Date.now() - olderThanMs))
      .orderBy("updated_at")
      .limit(limit)
      .select("refund_id"),
  );
  let settled = 0;
  for (const { refund_id: refundId } of rows) {
    try {
      if ((await settleRefund(deps, refundId)) === "refunded") settled++;
    } catch (err) {
      deps.logger.error(
        { refundId, err: errorMessage(err) },
        "pending refund could not be carried to the provider; will retry",
      );
    }
  }
  return settled;
}
