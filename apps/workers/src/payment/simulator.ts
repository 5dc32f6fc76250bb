import { randomUUID } from "node:crypto";
import { withTransaction, type Knex } from "@oms/shared";
import { TransientPaymentError, type ChargeRequest, type ChargeResult, type PaymentProvider } from "./provider";

export interface SimulatorOptions {
  latencyMs: number;
  /** How many times `tok_error` fails before it succeeds, per idempotency key. */
  transientFailures: number;
  declineAboveCents?: number;
}

interface PaymentRow {
  status: "failed" | "declined" | "succeeded" | "refunded";
  provider_ref: string | null;
  attempts: number;
  decline_reason: string | null;
}

/**
 * A payment network stand-in with deterministic outcomes by token: `tok_ok` succeeds,
 * `tok_decline` is declined, `tok_error` fails transiently N times first. Every charge
 * is recorded in `payments` keyed by idempotency key, so a replay returns the first
 * outcome and tests can prove that nothing was charged twice.
 */
export class SimulatedPaymentProvider implements PaymentProvider {
  constructor(
    private readonly db: Knex,
    private readonly options: SimulatorOptions,
  ) {}

  async charge(request: ChargeRequest): Promise<ChargeResult> {
    if (this.options.latencyMs > 0) await sleep(this.options.latencyMs);
    // The row is created before it is locked: a FOR UPDATE of a missing row takes a gap
    // lock, on which concurrent first charges of other orders queued and deadlocked.
    // status "failed" with 0 attempts is "nothing decided yet".
    const outcome = await withTransaction(
      this.db,
      async (trx) => {
        await trx.raw(
          "INSERT IGNORE INTO payments (idempotency_key, order_id, amount_cents, status, attempts) VALUES (?, ?, ?, 'failed', 0)",
          [request.idempotencyKey, request.orderId, request.amountCents],
        );
        const row = (await trx("payments").where({ idempotency_key: request.idempotencyKey }).forUpdate().first()) as
          PaymentRow | undefined;
        const recorded = replayOf(row);
        if (recorded) return recorded;

        const attempts = (row?.attempts ?? 0) + 1;
        const decision = this.decide(request, attempts);
        await trx("payments")
          .where({ idempotency_key: request.idempotencyKey })
          .update({
            status: decision.status,
            attempts,
            provider_ref: decision.status === "succeeded" ? decision.reference : null,
            decline_reason: decision.status === "declined" ? decision.reason : null,
          });
        return decision;
      },
      { isolationLevel: "read committed" },
    );
    if (outcome.status === "failed")
      throw new TransientPaymentError(`payment network error (attempt ${outcome.attempt})`);
    return outcome;
  }

  async refund(idempotencyKey: string): Promise<void> {
    await this.db("payments")
      .where({ idempotency_key: idempotencyKey, status: "succeeded" })
      .update({ status: "refunded" });
  }

  private decide(request: ChargeRequest, attempt: number): ChargeResult | { status: "failed"; attempt: number } {
    if (request.token === "tok_decline") return { status: "declined", reason: "card declined" };
    if (this.options.declineAboveCents !== undefined && request.amountCents > this.options.declineAboveCents) {
      return { status: "declined", reason: "amount over limit" };
    }
    if (request.token === "tok_error" && attempt <= this.options.transientFailures)
      return { status: "failed", attempt };
    return { status: "succeeded", reference: `sim_${randomUUID()}` };
  }
}

function replayOf(row: PaymentRow | undefined): ChargeResult | null {
  switch (row?.status) {
    case "succeeded":
      return { status: "succeeded", reference: row.provider_ref ?? "" };
    case "refunded":
      return { status: "refunded", reference: row.provider_ref ?? "" };
    case "declined":
      return { status: "declined", reason: row.decline_reason ?? "declined" };
    default:
      return null;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
