import { randomUUID } from "node:crypto";
import { dbNumber, errorCode, parseRow, withTransaction, type Knex } from "@oms/shared";
import { z } from "zod";
import type { GroupCommitWriter } from "../db/writer";
import { recordFirstAttempts } from "./payment-writes";
import {
  RefundRefusedError,
  TransientPaymentError,
  type ChargeRequest,
  type ChargeResult,
  type PaymentProvider,
  type RefundGateway,
  type RefundRequest,
} from "./provider";

export interface SimulatorOptions {
  latencyMs: number;
  /** How many times `tok_error` fails before it succeeds, per idempotency key. */
  transientFailures: number;
  declineAboveCents?: number;
}

const PaymentRow = z.object({
  status: z.enum(["failed", "declined", "succeeded", "refunded"]),
  provider_ref: z.string().nullable(),
  attempts: z.number(),
  decline_reason: z.string().nullable(),
});
type PaymentRow = z.infer<typeof PaymentRow>;
const ChargeRow = z.object({ status: z.string(), amount_cents: dbNumber });
const ProviderRefundRow = z.object({ provider_ref: z.string() });
const RefundedSum = z.object({ cents: dbNumber.nullable() });

/**
 * A payment network stand-in with deterministic outcomes by token: `tok_ok` succeeds,
 * `tok_decline` is declined, `tok_error` fails transiently N times first. Every charge
 * is recorded in `payments` keyed by idempotency key, so a replay returns the first
 * outcome and tests can prove that nothing was charged twice.
 */
export class SimulatedPaymentProvider implements PaymentProvider, RefundGateway {
  constructor(
    private readonly db: Knex,
    private readonly options: SimulatorOptions,
    /** Where first attempts are recorded: the worker's group-commit writer, batched with the other writes. */
    private readonly writer?: GroupCommitWriter,
  ) {}

  async charge(request: ChargeRequest): Promise<ChargeResult> {
    if (this.options.latencyMs > 0) await sleep(this.options.latencyMs);
    const outcome = (await this.firstAttempt(request)) ?? (await this.laterAttempt(request));
    if (outcome.status === "failed")
      throw new TransientPaymentError(`payment network error (attempt ${outcome.attempt})`);
    return outcome;
  }

  /**
   * The common case, one row of a multi-row INSERT: no row for this key yet, so attempt
   * 1 is decided and recorded. A key that exists means an earlier attempt did.
   */
  private async firstAttempt(request: ChargeRequest): Promise<Decision | null> {
    const decision = this.decide(request, 1);
    if (this.writer) {
      const recorded = await this.writer.submit(recordFirstAttempts, {
        idempotency_key: request.idempotencyKey,
        order_id: request.orderId,
        amount_cents: request.amountCents,
        ...recordOf(decision, 1),
      });
      return recorded === "recorded" ? decision : null;
    }
    try {
      await this.db("payments").insert({
        idempotency_key: request.idempotencyKey,
        order_id: request.orderId,
        amount_cents: request.amountCents,
        ...recordOf(decision, 1),
      });
      return decision;
    } catch (err) {
      if (errorCode(err) === "ER_DUP_ENTRY") return null;
      throw err;
    }
  }

  /**
   * A retry: the row exists (firstAttempt met it), so the lock is on that record only,
   * never the gap lock a FOR UPDATE of a missing row takes.
   */
  private async laterAttempt(request: ChargeRequest): Promise<Decision> {
    return withTransaction(
      this.db,
      async (trx) => {
        const row = parseRow(
          PaymentRow,
          await trx("payments").where({ idempotency_key: request.idempotencyKey }).forUpdate().first(),
        );
        const recorded = replayOf(row);
        if (recorded) return recorded;

        const attempts = (row?.attempts ?? 0) + 1;
        const decision = this.decide(request, attempts);
        await trx("payments").where({ idempotency_key: request.idempotencyKey }).update(recordOf(decision, attempts));
        return decision;
      },
      { isolationLevel: "read committed" },
    );
  }

  async refund(idempotencyKey: string): Promise<void> {
    await this.db("payments")
      .where({ idempotency_key: idempotencyKey, status: "succeeded" })
      .update({ status: "refunded" });
  }

  /**
   * Refunds part of a charge, once per idempotency key (`provider_refunds`). The charge's
   * row is locked first, so refunds of one charge are decided one at a time: a replay
   * finds its first refund, and the refunds of a charge never add up past it.
   */
  async refundCharge(request: RefundRequest): Promise<{ reference: string }> {
    if (this.options.latencyMs > 0) await sleep(this.options.latencyMs);
    return withTransaction(
      this.db,
      async (trx) => {
        const charge = parseRow(
          ChargeRow,
          await trx("payments")
            .where({ idempotency_key: request.chargeKey })
            .forUpdate()
            .first("status", "amount_cents"),
        );
        const earlier = parseRow(
          ProviderRefundRow,
          await trx("provider_refunds").where({ idempotency_key: request.idempotencyKey }).first("provider_ref"),
        );
        if (earlier) return { reference: earlier.provider_ref };
        if (charge?.status !== "succeeded") throw new RefundRefusedError(`no standing charge ${request.chargeKey}`);
        const before = RefundedSum.parse(
          await trx("provider_refunds").where({ charge_key: request.chargeKey }).sum({ cents: "amount_cents" }).first(),
        );
        const left = Number(charge.amount_cents) - Number(before.cents ?? 0);
        if (request.amountCents > left)
          throw new RefundRefusedError(`refund of ${request.amountCents} is more than the ${left} left of the charge`);
        const reference = `simrf_${randomUUID()}`;
        await trx("provider_refunds").insert({
          idempotency_key: request.idempotencyKey,
          charge_key: request.chargeKey,
          amount_cents: request.amountCents,
          provider_ref: reference,
        });
        return { reference };
      },
      { isolationLevel: "read committed" },
    );
  }

  private decide(request: ChargeRequest, attempt: number): Decision {
    if (request.token === "tok_decline") return { status: "declined", reason: "card declined" };
    if (this.options.declineAboveCents !== undefined && request.amountCents > this.options.declineAboveCents) {
      return { status: "declined", reason: "amount over limit" };
    }
    if (request.token === "tok_error" && attempt <= this.options.transientFailures)
      return { status: "failed", attempt };
    return { status: "succeeded", reference: `sim_${randomUUID()}` };
  }
}

type Decision = ChargeResult | { status: "failed"; attempt: number };

function recordOf(decision: Decision, attempts: number) {
  return {
    status: decision.status,
    attempts,
    provider_ref: decision.status === "succeeded" ? decision.reference : null,
    decline_reason: decision.status === "declined" ? decision.reason : null,
  };
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
