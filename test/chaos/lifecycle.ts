/**
 * Cancels and refunds in the chaos mix: some shoppers cancel the order they were told
 * succeeded, and an operator refunds (all, or one unit of a line), fulfils and ships
 * other paid orders while the faults run. Every request is retried through 5xx, 429 and
 * network errors (the operator's with the same Idempotency-Key, so a retry is the same
 * refund), and what each was finally told is checked against MySQL at the end.
 */
import type { Knex } from "@oms/shared";
import { RETRYABLE, backoff, type HttpAnswer, type HttpClient } from "./http-client";
import type { Random } from "./prng";
import { sleep } from "./infra";

export type LifecycleKind = "cancel" | "refund_all" | "refund_one" | "fulfil" | "ship";

export interface LifecycleAction {
  orderId: string;
  kind: LifecycleKind;
  /** The final answer's HTTP status, or "none" when every try failed. */
  status: number | "none";
  code?: string;
  /** The order's state the answer named (the new one on 200, the refusing one on 409). */
  state?: string;
  refundId?: string;
}

const RETRY_FOR_MS = 60_000;

async function send(
  http: HttpClient,
  rng: Random,
  action: Pick<LifecycleAction, "orderId" | "kind">,
  path: string,
  body: unknown,
  headers: Record<string, string>,
): Promise<LifecycleAction> {
  let last: HttpAnswer | undefined;
  // As an operator would: through a MySQL crash (down up to 20 s, then crash recovery)
  // and a Redis restart, not eight tries and then a 503 taken for the last word
  // (seeds 2423283300 and 258103348 gave up that way inside a MySQL crash).
  const deadline = Date.now() + RETRY_FOR_MS;
  for (let attempt = 0; Date.now() < deadline; attempt++) {
    try {
      last = await http.request("POST", path, body, headers, 15_000);
      // 409 CONFLICT (not INVALID_TRANSITION): the same Idempotency-Key is still running.
      const again = RETRYABLE.has(last.status) || (last.status === 409 && last.body.code === "CONFLICT");
      if (!again) break;
    } catch {
      last = undefined;
    }
    await sleep(backoff(rng, attempt));
  }
  if (!last) return { ...action, status: "none" };
  const refund = last.body.refund as { refundId?: string } | undefined;
  return {
    ...action,
    status: last.status,
    ...(typeof last.body.code === "string" ? { code: last.body.code } : {}),
    ...(typeof last.body.state === "string" ? { state: last.body.state } : {}),
    ...(refund?.refundId ? { refundId: refund.refundId } : {}),
  };
}

/** The shopper's cancel of the order it was told succeeded. */
export function cancelOrder(http: HttpClient, orderId: string, rng: Random): Promise<LifecycleAction> {
  return send(http, rng, { orderId, kind: "cancel" }, `/orders/${orderId}/cancel`, undefined, {});
}

/** An operator working through paid orders, one action every `everyMs`, until stopped. */
export class Operator {
  readonly actions: LifecycleAction[] = [];
  private stopped = false;
  /** Orders already acted on: each gets at most two moves, so most sales stand. */
  private readonly touched = new Map<string, number>();

  constructor(
    private readonly http: HttpClient,
    private readonly db: () => Knex,
    private readonly adminToken: string,
    private readonly rng: Random,
    private readonly keyPrefix: string,
  ) {}

  stop(): void {
    this.stopped = true;
  }

  async run(everyMs: number): Promise<void> {
    for (let n = 0; !this.stopped; n++) {
      await sleep(everyMs * this.rng.between(0.5, 1.5));
      // The harness's MySQL may be down (a crash in the mix): skip this turn.
      const order = await this.pick().catch(() => undefined);
      if (!order || this.stopped || (this.touched.get(order.orderId) ?? 0) >= 2) continue;
      this.touched.set(order.orderId, (this.touched.get(order.orderId) ?? 0) + 1);
      this.actions.push(await this.act(order, n));
    }
  }

  private async pick(): Promise<{ orderId: string; productId: string } | undefined> {
    const row = (await this.db()("orders as o")
      .join("order_items as i", "i.order_id", "o.order_id")
      .whereIn("o.state", ["completed", "partially_refunded", "fulfilled", "shipped"])
      .orderByRaw("RAND()")
      .first("o.order_id", "i.product_id")) as { order_id: string; product_id: string } | undefined;
    return row && { orderId: row.order_id, productId: row.product_id };
  }

  private act(order: { orderId: string; productId: string }, n: number): Promise<LifecycleAction> {
    const kind = this.rng.weighted<LifecycleKind>([
      ["refund_one", 35],
      ["refund_all", 25],
      ["fulfil", 25],
      ["ship", 15],
    ]);
    const headers = { authorization: `Bearer ${this.adminToken}`, "Idempotency-Key": `${this.keyPrefix}-${n}` };
    const path = `/admin/orders/${order.orderId}/${kind.startsWith("refund") ? "refund" : kind}`;
    const body =
      kind === "refund_one"
        ? { lines: [{ productID: order.productId, quantity: 1 }] }
        : kind === "ship"
          ? { trackingRef: `CHAOS${n}` }
          : {};
    return send(this.http, this.rng, { orderId: order.orderId, kind }, path, body, headers);
  }
}

/** What each told move promised, against the orders and refunds MySQL ended with. */
export async function checkLifecycleAnswers(
  db: Knex,
  actions: LifecycleAction[],
): Promise<{ checked: number; violations: string[] }> {
  const ids = [...new Set(actions.map((a) => a.orderId))];
  const states = new Map<string, string>();
  const refunds = new Set<string>();
  for (let i = 0; i < ids.length; i += 500) {
    const chunk = ids.slice(i, i + 500);
    for (const o of (await db("orders").whereIn("order_id", chunk).select("order_id", "state")) as Array<{
      order_id: string;
      state: string;
    }>)
      states.set(o.order_id, o.state);
    for (const r of (await db("refunds").whereIn("order_id", chunk).pluck("refund_id")) as string[]) refunds.add(r);
  }
  // A state an order may still be in after the told move (moves never lead back).
  const after: Record<LifecycleKind, string[]> = {
    cancel: ["cancelled"],
    refund_all: ["refunded"],
    refund_one: ["partially_refunded", "fulfilled", "shipped", "refunded", "cancelled"],
    fulfil: ["fulfilled", "shipped", "refunded"],
    ship: ["shipped", "refunded"],
  };
  const violations: string[] = [];
  let checked = 0;
  for (const a of actions) {
    const state = states.get(a.orderId);
    checked++;
    if (a.status === 200) {
      if (!state || !after[a.kind].includes(state))
        violations.push(`${a.kind} of ${a.orderId} answered 200 (${a.state}), but the order is ${state ?? "unknown"}`);
      if (a.kind !== "fulfil" && a.kind !== "ship" && (!a.refundId || !refunds.has(a.refundId)))
        violations.push(`${a.kind} of ${a.orderId} answered 200 with refund ${a.refundId}, which MySQL does not know`);
    } else if (
      a.code === "INVALID_TRANSITION" &&
      a.kind === "cancel" &&
      (state === "completed" || state === "partially_refunded")
    )
      violations.push(`cancel of ${a.orderId} was refused (${a.state}), yet the order is still ${state}`);
    else if (a.status !== 409 && a.status !== "none")
      violations.push(`${a.kind} of ${a.orderId} answered ${a.status} ${a.code ?? ""}: neither done nor refused`);
  }
  return { checked, violations };
}

/** Counts of the moves by kind and final answer, for the run's figures. */
export function lifecycleFigures(actions: LifecycleAction[]): Record<string, number> {
  const figures: Record<string, number> = {};
  for (const a of actions) {
    const key = `${a.kind}_${a.status === 200 ? "done" : a.status === "none" ? "no_answer" : (a.code ?? a.status)}`;
    figures[key] = (figures[key] ?? 0) + 1;
  }
  return figures;
}
