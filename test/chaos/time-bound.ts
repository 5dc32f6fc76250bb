/**
 * The chaos suite's bound on time-to-final: once every fault is over, an order a client
 * was told about must end (completed or failed) within 30 s. Time spent pending while a
 * dependency is away is excused; only fault-free stretches count.
 */
import { z } from "zod";
import { PAID_STATES, type Knex } from "@oms/shared";
import { Check } from "../support/invariants/check";
import type { ShopperRecord } from "./shopper";

export const BOUND_SECONDS = 30;

/** A fault in effect from `startMs` to `endMs` (epoch ms; equal for an instant one, a SIGKILL). */
export interface FaultWindow {
  kind: string;
  startMs: number;
  endMs: number;
}

/** When each fault of the run was in effect, for the bound on time-to-final. */
export interface Timeline {
  /** The run's start, the zero of the shoppers' answer times. */
  t0: number;
  faults: FaultWindow[];
}

export interface OrderTimes {
  createdMs: number;
  /** When MySQL made it completed or failed; null while pending. */
  finalMs: number | null;
}

export interface BoundFigures {
  /** Told orders examined. */
  orders: number;
  /** The longest fault-free time a told order spent not final, and which order. */
  longestMs: number;
  longestOrderId?: string;
}

const TimesRow = z.object({
  order_id: z.string(),
  created_ms: z.coerce.number(),
  final_ms: z.coerce.number().nullable(),
});

/** When each order was created and became final, in epoch ms. */
export async function readOrderTimes(db: Knex): Promise<Map<string, OrderTimes>> {
  const rows = z.array(TimesRow).parse(
    await db("orders").select(
      "order_id",
      db.raw("ROUND(UNIX_TIMESTAMP(created_at) * 1000) AS created_ms"),
      // Epoch ms straight from MySQL: no time zone between the server's clock and ours.
      db.raw(
        `ROUND(UNIX_TIMESTAMP(CASE WHEN state IN (${PAID_STATES.map(() => "?").join(", ")}) THEN COALESCE(completed_at, updated_at) WHEN state = 'failed' THEN updated_at END) * 1000) AS final_ms`,
        [...PAID_STATES],
      ),
    ),
  );
  return new Map(rows.map((t) => [t.order_id, { createdMs: t.created_ms, finalMs: t.final_ms }]));
}

/**
 * The longest time in [from, to] during which no fault was in effect, and what that
 * stretch started from: time spent pending while a dependency is away is excused, but
 * once everything is back the order must end within the bound.
 */
export function longestFaultFreeStretch(
  from: number,
  to: number,
  faults: FaultWindow[],
): { ms: number; startMs: number; after: string } {
  let cursor = from;
  let after = "its creation";
  let best = { ms: 0, startMs: from, after };
  const consider = (end: number) => {
    if (end - cursor > best.ms) best = { ms: end - cursor, startMs: cursor, after };
  };
  for (const f of [...faults].sort((a, b) => a.startMs - b.startMs)) {
    if (f.startMs >= to) break;
    if (f.endMs < cursor) continue;
    if (f.startMs > cursor) consider(f.startMs);
    if (f.endMs >= cursor) {
      cursor = f.endMs;
      after = `the end of ${f.kind}`;
    }
  }
  consider(to);
  return best;
}

/** When the client saw the order end: a later write may have moved updated_at since. */
function seenFinal(s: ShopperRecord, orderId: string, t0: number): number[] {
  return s.answers
    .filter(
      (a) =>
        a.detail !== undefined &&
        ((a.what === "checkOutCart" &&
          a.detail.startsWith(orderId) &&
          (a.status === 200 || a.status === 402 || (a.status === 409 && !a.detail.includes("in progress")))) ||
          (a.what === `GET /orders ${orderId}` && /^(completed|failed)/.test(a.detail))),
    )
    .map((a) => t0 + a.at);
}

export function checkFinalBound(
  orders: Map<string, OrderTimes>,
  shoppers: ShopperRecord[],
  timeline: Timeline,
  nowMs: number,
): { check: Check; bound: BoundFigures } {
  const check = new Check(`every told order final within ${BOUND_SECONDS} s of the last fault`);
  const bound: BoundFigures = { orders: 0, longestMs: 0 };
  const at = (ms: number) => `${((ms - timeline.t0) / 1000).toFixed(1)} s`;
  for (const s of shoppers) {
    for (const orderId of new Set([...s.accepted, ...Object.keys(s.told)])) {
      const o = orders.get(orderId);
      if (!o) continue; // the accepted-checkout check reports orders MySQL does not know
      check.count();
      bound.orders++;
      const finalMs = Math.min(o.finalMs ?? nowMs, ...seenFinal(s, orderId, timeline.t0));
      const stretch = longestFaultFreeStretch(o.createdMs, finalMs, timeline.faults);
      if (stretch.ms > bound.longestMs) {
        bound.longestMs = stretch.ms;
        bound.longestOrderId = orderId;
      }
      if (stretch.ms > BOUND_SECONDS * 1000)
        check.fail(
          `order ${orderId} (client ${s.plan.clientId}) was not final for ${(stretch.ms / 1000).toFixed(1)} s after ${stretch.after} at ${at(stretch.startMs)} (created ${at(o.createdMs)}, ${o.finalMs === null ? `still pending at ${at(nowMs)}` : `final at ${at(finalMs)}`}; times from the run's start)`,
        );
    }
  }
  return { check, bound };
}
