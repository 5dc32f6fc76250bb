/**
 * "Never refunded twice", read from MySQL at rest: our refunds (`refunds`, `refund_items`)
 * against the orders they belong to and the payment provider's own ledger
 * (`provider_refunds`, one row per idempotency key = refund id).
 */
import { z } from "zod";
import { parseRows, type Knex } from "@oms/shared";

export interface RefundCheck {
  checked: number;
  violations: string[];
  /** Units returned to stock per product (what conservation adds back). */
  returned: Map<string, number>;
}

/** Any row of the columns read here: read through a schema, not trusted as typed. */
const Row = z.record(z.string(), z.union([z.string(), z.number(), z.null()]));
type Row = z.infer<typeof Row>;

const num = (v: string | number | null | undefined) => Number(v ?? 0);

export async function checkRefunds(db: Knex): Promise<RefundCheck> {
  const violations: string[] = [];
  let checked = 0;
  const orders = parseRows(Row, await db("orders").select("order_id", "state", "total_cents", "refunded_cents"));
  const refunds = parseRows(Row, await db("refunds").select("refund_id", "order_id", "amount_cents", "status", "kind"));
  const items = parseRows(Row, await db("refund_items").select("refund_id", "order_id", "product_id", "quantity"));
  const bought = parseRows(Row, await db("order_items").select("order_id", "product_id", "quantity"));
  const ledger = parseRows(Row, await db("provider_refunds").select("idempotency_key", "charge_key", "amount_cents"));
  const charges = parseRows(
    Row,
    await db("payments").where({ status: "succeeded" }).select("order_id", "amount_cents"),
  );

  const sumBy = (rows: Row[], key: (r: Row) => string, value: (r: Row) => number) => {
    const sums = new Map<string, number>();
    for (const r of rows) sums.set(key(r), (sums.get(key(r)) ?? 0) + value(r));
    return sums;
  };
  const refundedByOrder = sumBy(
    refunds,
    (r) => String(r.order_id),
    (r) => num(r.amount_cents),
  );
  const ledgerByRefund = new Map<string, Row[]>();
  for (const l of ledger)
    ledgerByRefund.set(String(l.idempotency_key), [...(ledgerByRefund.get(String(l.idempotency_key)) ?? []), l]);
  const ledgerByCharge = sumBy(
    ledger,
    (l) => String(l.charge_key),
    (l) => num(l.amount_cents),
  );
  const chargeOf = new Map(charges.map((c) => [String(c.order_id), num(c.amount_cents)]));
  const refundIds = new Set(refunds.map((r) => String(r.refund_id)));

  for (const o of orders) {
    checked++;
    const id = String(o.order_id);
    const refunded = refundedByOrder.get(id) ?? 0;
    if (refunded !== num(o.refunded_cents))
      violations.push(`order ${id}: refunded_cents ${o.refunded_cents} != its refunds' ${refunded}`);
    if (refunded > num(o.total_cents)) violations.push(`order ${id}: refunded ${refunded} > total ${o.total_cents}`);
    if ((o.state === "cancelled" || o.state === "refunded") && refunded !== num(o.total_cents))
      violations.push(`order ${id} is ${o.state} but ${refunded} of ${o.total_cents} was refunded`);
    const atProvider = ledgerByCharge.get(id) ?? 0;
    if (atProvider > (chargeOf.get(id) ?? 0))
      violations.push(
        `order ${id}: the provider refunded ${atProvider}, more than the charge ${chargeOf.get(id) ?? 0}`,
      );
  }
  for (const r of refunds) {
    checked++;
    const id = String(r.refund_id);
    const atProvider = ledgerByRefund.get(id) ?? [];
    if (r.status !== "succeeded") violations.push(`refund ${id} of order ${r.order_id} is still ${r.status}`);
    const expected = num(r.amount_cents) === 0 ? 0 : 1;
    if (atProvider.length !== expected)
      violations.push(
        `refund ${id} of order ${r.order_id} has ${atProvider.length} provider refunds, expected ${expected}`,
      );
    for (const l of atProvider)
      if (num(l.amount_cents) !== num(r.amount_cents) || l.charge_key !== r.order_id)
        violations.push(
          `refund ${id}: the provider refunded ${l.amount_cents} of ${l.charge_key}, not ${r.amount_cents} of ${r.order_id}`,
        );
  }
  for (const l of ledger) {
    checked++;
    if (!refundIds.has(String(l.idempotency_key)))
      violations.push(`provider refund ${l.idempotency_key} of ${l.charge_key} matches no recorded refund`);
  }
  // Per line: never more units back than were bought.
  const boughtOf = sumBy(
    bought,
    (b) => `${b.order_id}/${b.product_id}`,
    (b) => num(b.quantity),
  );
  for (const [line, units] of sumBy(
    items,
    (i) => `${i.order_id}/${i.product_id}`,
    (i) => num(i.quantity),
  )) {
    checked++;
    if (units > (boughtOf.get(line) ?? 0))
      violations.push(`line ${line}: ${units} returned, ${boughtOf.get(line) ?? 0} bought`);
  }
  const returned = sumBy(
    items,
    (i) => String(i.product_id),
    (i) => num(i.quantity),
  );
  return { checked, violations, returned };
}

/** Refunds recorded and not yet confirmed by the provider (a system at rest has none). */
export async function pendingRefunds(db: Knex): Promise<number> {
  const row = (await db("refunds").where({ status: "pending" }).count({ n: "*" }).first()) as
    { n: number | string } | undefined;
  return Number(row?.n ?? 0);
}
