/**
 * The chaos run's invariants, read straight from MySQL (a direct connection, not the
 * proxy) and from Redis once the system is quiet and a flush and a reconcile ran.
 * Each check counts what it examined and lists every violation it found.
 */
import { PAID_STATES, wasPaid, type Keyspace, type Knex, type OrderState, type RedisClient } from "@oms/shared";
import { scanAll } from "../support/env";
import { checkRefunds } from "../support/refund-invariants";
import type { ShopperRecord } from "./client";
import { checkLifecycleAnswers, type LifecycleAction } from "./lifecycle";

export interface ProductBook {
  productId: string;
  initial: number;
  /** Units added by restocks the API confirmed. */
  restocked: number;
}

export interface CheckResult {
  name: string;
  /** Individual assertions evaluated. */
  checked: number;
  /** Violations found (the list below may be cut short). */
  failed: number;
  violations: string[];
}

export interface ProductFigures {
  productId: string;
  initial: number;
  restocked: number;
  mysql: number;
  /** Units of every order whose checkout completed (cancelled and refunded ones too). */
  sold: number;
  /** Units refunds returned to stock. */
  returned: number;
  redis: number | null;
  held: number;
}

export interface InvariantReport {
  checks: CheckResult[];
  products: ProductFigures[];
  orders: {
    completed: number;
    failed: number;
    pending: number;
    byFailure: Record<string, number>;
    /** Paid orders by where their lifecycle left them (completed, cancelled, refunded, shipped, ...). */
    byState: Record<string, number>;
  };
  payments: Record<string, number>;
  /** Accepted order ids MySQL does not know, by what the queue says happened to their job. */
  unknownAccepted: Record<string, number>;
  bound: BoundFigures;
}

/** When each fault of the run was in effect, for the bound on time-to-final. */
export interface Timeline {
  /** The run's start, the zero of the shoppers' answer times. */
  t0: number;
  faults: FaultWindow[];
}

interface OrderRow {
  order_id: string;
  client_id: string;
  state: string;
  total_cents: number | string;
  payment_ref: string | null;
  failure_code: string | null;
}

interface PaymentRow {
  idempotency_key: string;
  order_id: string;
  status: string;
  amount_cents: number | string;
  provider_ref: string | null;
}

const MAX_LISTED = 200;
const BOUND_SECONDS = 30;

function check(name: string): Omit<CheckResult, "failed"> & { fail(message: string): void; count(n?: number): void } {
  const result = {
    name,
    checked: 0,
    violations: [] as string[],
    fail(message: string) {
      result.violations.push(message);
    },
    count(n = 1) {
      result.checked += n;
    },
  };
  return result;
}

export async function checkInvariants(
  db: Knex,
  redis: RedisClient,
  keys: Keyspace,
  products: ProductBook[],
  shoppers: ShopperRecord[],
  /** Cancels, refunds, fulfils and ships the run sent, with their final answers. */
  actions: LifecycleAction[],
  timeline: Timeline,
  /** What the queue knows of a checkout job (for orders MySQL does not know), and a short cause. */
  describeJob: (orderId: string) => Promise<{ text: string; cause: string }> = async () => ({
    text: "",
    cause: "unknown",
  }),
): Promise<InvariantReport> {
  const productIds = products.map((p) => p.productId);
  const quantities = new Map(
    (
      (await db("product_details").whereIn("product_id", productIds).select("product_id", "quantity")) as Array<{
        product_id: string;
        quantity: number | string;
      }>
    ).map((r) => [r.product_id, Number(r.quantity)]),
  );
  const soldRows = (await db("order_items as i")
    .join("orders as o", "o.order_id", "i.order_id")
    .whereIn("o.state", PAID_STATES)
    .groupBy("i.product_id")
    .select("i.product_id")
    .sum({ sold: "i.quantity" })) as Array<{ product_id: string; sold: number | string }>;
  const sold = new Map(soldRows.map((r) => [r.product_id, Number(r.sold)]));
  // One read per key and per shard: on a Cluster each shard (and its levels) has its own slot.
  const cached = await Promise.all(productIds.map((id) => redis.get(keys.stock(id))));
  const refunds = await checkRefunds(db);
  const heldByShard = await Promise.all(keys.shards.map((n) => redis.hgetall(keys.held(n))));
  const pendingFlush = (await db("reserve_purchase").select("reserve_id", "product_id", "quantity")) as Array<{
    reserve_id: string;
    product_id: string;
    quantity: number;
  }>;

  const figures: ProductFigures[] = products.map((p, i) => {
    const raw = cached[i];
    return {
      productId: p.productId,
      initial: p.initial,
      restocked: p.restocked,
      mysql: quantities.get(p.productId) ?? Number.NaN,
      sold: sold.get(p.productId) ?? 0,
      returned: refunds.returned.get(p.productId) ?? 0,
      redis: raw === null || raw === undefined ? null : Number(raw),
      held: Number(heldByShard[keys.shardOf(p.productId)]?.[p.productId] ?? 0),
    };
  });

  // 1. Never sold past the stock there was.
  const oversell = check("no product sold past its stock");
  for (const f of figures) {
    oversell.count();
    if (f.sold > f.initial + f.restocked + f.returned)
      oversell.fail(
        `${f.productId}: sold ${f.sold} > initial ${f.initial} + restocked ${f.restocked} + returned ${f.returned}`,
      );
    if (f.redis !== null && f.redis < 0) oversell.fail(`${f.productId}: Redis available is negative (${f.redis})`);
  }

  // 2. Conservation in MySQL, after the flush.
  // Equivalently: initial + restocks = MySQL quantity + units sold and not returned.
  const conservation = check("conservation: initial + restocks + returned = MySQL quantity + sold");
  for (const f of figures) {
    conservation.count();
    const supply = f.initial + f.restocked + f.returned;
    if (!quantities.has(f.productId)) conservation.fail(`${f.productId} is missing from product_details`);
    else if (supply !== f.mysql + f.sold)
      conservation.fail(
        `${f.productId}: ${f.initial} + ${f.restocked} restocked + ${f.returned} returned != MySQL ${f.mysql} + sold ${f.sold} (off by ${supply - f.mysql - f.sold})`,
      );
  }
  conservation.count();
  if (pendingFlush.length)
    conservation.fail(
      `${pendingFlush.length} reserve_purchase rows left after the flush: ${pendingFlush
        .slice(0, 5)
        .map((r) => `${r.reserve_id}/${r.product_id}x${r.quantity}`)
        .join(", ")}`,
    );

  // 3. The stock cache agrees with MySQL, with no holds left.
  const cache = check("Redis = MySQL after reconcile, no holds left");
  for (const f of figures) {
    cache.count();
    if (f.redis !== null && f.redis !== f.mysql)
      cache.fail(`${f.productId}: Redis available ${f.redis} != MySQL quantity ${f.mysql}`);
    if (f.held !== 0)
      cache.fail(`${f.productId}: ${f.held} units still held in ${keys.held(keys.shardOf(f.productId))}`);
  }
  const open: string[] = [];
  for (const shard of keys.shards) {
    cache.count();
    const live = await redis.zrange(keys.holdExpiries(shard), 0, -1);
    if (live.length)
      cache.fail(`${live.length} live holds in ${keys.holdExpiries(shard)}: ${live.slice(0, 5).join(", ")}`);
    const prefix = keys.hold("", shard);
    for (const key of await scanAll(redis, `${prefix}*`)) {
      cache.count();
      const state = await redis.hget(key, "state");
      if (state === "held" || state === "committing") open.push(`${key.slice(prefix.length)}=${state}`);
    }
  }
  if (open.length) cache.fail(`${open.length} holds still open: ${open.slice(0, 5).join(", ")}`);

  const orders = (await db("orders").select(
    "order_id",
    "client_id",
    "state",
    "total_cents",
    "payment_ref",
    "failure_code",
  )) as OrderRow[];
  const orderById = new Map(orders.map((o) => [o.order_id, o]));
  // A cancelled, refunded or shipped order completed its checkout: its charge stands.
  const paid = (o: OrderRow) => wasPaid(o.state as OrderState);
  const shopperByClient = new Map(shoppers.map((s) => [s.plan.clientId, s]));

  // 4. Every accepted checkout ended in exactly one terminal state.
  const terminal = check("every accepted checkout in exactly one terminal state");
  const unknownCauses: Record<string, number> = {};
  for (const o of orders) {
    terminal.count();
    if (o.state === "pending") terminal.fail(`order ${o.order_id} (client ${o.client_id}) is ${o.state}`);
  }
  for (const s of shoppers) {
    for (const orderId of s.accepted) {
      terminal.count();
      const o = orderById.get(orderId);
      if (!o) {
        const job = await describeJob(orderId);
        unknownCauses[job.cause] = (unknownCauses[job.cause] ?? 0) + 1;
        terminal.fail(
          `client ${s.plan.clientId} was given order ${orderId} (${s.answers
            .filter((a) => a.what === "checkOutCart" && a.detail?.startsWith(orderId))
            .map((a) => `HTTP ${a.status} sent at ${a.sentAt} ms, answered at ${a.at} ms`)
            .join(", ")}), which MySQL does not know; ${job.text}`,
        );
      } else if (o.client_id !== s.plan.clientId)
        terminal.fail(`order ${orderId} given to ${s.plan.clientId} belongs to ${o.client_id}`);
    }
    for (const [orderId, told] of Object.entries(s.told)) {
      const o = orderById.get(orderId);
      terminal.count();
      if (told === "failed" && o && paid(o))
        terminal.fail(`client ${s.plan.clientId} was told order ${orderId} failed, but it completed`);
    }
  }

  // 5. At most one charge per order, none without an order.
  const payments = (await db("payments").select(
    "idempotency_key",
    "order_id",
    "status",
    "amount_cents",
    "provider_ref",
  )) as PaymentRow[];
  const paymentCheck = check("at most one charge per order, none without an order");
  const paymentsByOrder = new Map<string, PaymentRow[]>();
  const paymentStatus: Record<string, number> = {};
  for (const p of payments) {
    paymentCheck.count();
    paymentStatus[p.status] = (paymentStatus[p.status] ?? 0) + 1;
    const list = paymentsByOrder.get(p.order_id) ?? [];
    list.push(p);
    paymentsByOrder.set(p.order_id, list);
    if (p.idempotency_key !== p.order_id)
      paymentCheck.fail(`payment ${p.idempotency_key} is not keyed by its order id ${p.order_id}`);
    const o = orderById.get(p.order_id);
    if (!o) paymentCheck.fail(`payment ${p.idempotency_key} (${p.status}) has no order ${p.order_id}`);
    else if (p.status === "succeeded" && !paid(o))
      paymentCheck.fail(`order ${o.order_id} is ${o.state} but its payment succeeded (not refunded)`);
  }
  for (const [orderId, list] of paymentsByOrder) {
    if (list.length > 1) paymentCheck.fail(`order ${orderId} has ${list.length} payment rows`);
  }
  for (const o of orders) {
    if (!paid(o)) continue;
    paymentCheck.count();
    const charged = (paymentsByOrder.get(o.order_id) ?? []).filter((p) => p.status === "succeeded");
    const [charge] = charged;
    if (charged.length !== 1 || !charge) {
      paymentCheck.fail(`completed order ${o.order_id} has ${charged.length} succeeded payments`);
      continue;
    }
    if (Number(charge.amount_cents) !== Number(o.total_cents))
      paymentCheck.fail(`order ${o.order_id}: charged ${charge.amount_cents}, total ${o.total_cents}`);
    if (charge.provider_ref !== o.payment_ref)
      paymentCheck.fail(`order ${o.order_id}: payment_ref ${o.payment_ref} != charge ${charge.provider_ref}`);
  }

  // 6. What the clients were told matches what happened.
  const told = check('every client told "Success" has a completed order');
  for (const s of shoppers) {
    for (const [orderId, answer] of Object.entries(s.told)) {
      if (answer !== "success") continue;
      told.count();
      const o = orderById.get(orderId);
      if (!o || !paid(o))
        told.fail(`client ${s.plan.clientId} was told Success for order ${orderId}, which is ${o?.state ?? "unknown"}`);
    }
  }
  for (const o of orders) {
    if (!paid(o)) continue;
    told.count();
    const s = shopperByClient.get(o.client_id);
    if (!s) {
      told.fail(`completed order ${o.order_id} belongs to ${o.client_id}, not a client of this run`);
      continue;
    }
    if (s.told[o.order_id] === "success" || s.final.kind === "none") continue;
    told.fail(
      `order ${o.order_id} of ${o.client_id} completed, but the client was finally told ${describeFinal(s)} (answers: ${s.answers
        .map((a) => `${a.what} -> ${a.status}${a.detail ? ` ${a.detail}` : ""}`)
        .join("; ")})`,
    );
  }

  // 7. Every order a client was told about ended soon after the faults did.
  const times = (await db("orders").select(
    "order_id",
    db.raw("ROUND(UNIX_TIMESTAMP(created_at) * 1000) AS created_ms"),
    // Epoch ms straight from MySQL: no time zone between the server's clock and ours.
    db.raw(
      `ROUND(UNIX_TIMESTAMP(CASE WHEN state IN (${PAID_STATES.map(() => "?").join(", ")}) THEN COALESCE(completed_at, updated_at) WHEN state = 'failed' THEN updated_at END) * 1000) AS final_ms`,
      [...PAID_STATES],
    ),
  )) as Array<{ order_id: string; created_ms: number | string; final_ms: number | string | null }>;
  const orderTimes = new Map<string, OrderTimes>(
    times.map((t) => [
      t.order_id,
      { createdMs: Number(t.created_ms), finalMs: t.final_ms === null ? null : Number(t.final_ms) },
    ]),
  );
  const bounded = check(`every told order final within ${BOUND_SECONDS} s of the last fault`);
  const bound = checkFinalBound(orderTimes, shoppers, timeline, Date.now(), bounded);

  const byFailure: Record<string, number> = {};
  for (const o of orders)
    if (o.state === "failed") byFailure[o.failure_code ?? "?"] = (byFailure[o.failure_code ?? "?"] ?? 0) + 1;
  // 8. Never refunded twice, and every cancel, refund, fulfil or ship told done was done.
  const refunded = check("never refunded twice; every told move done");
  refunded.count(refunds.checked);
  for (const v of refunds.violations) refunded.fail(v);
  const answers = await checkLifecycleAnswers(db, actions);
  refunded.count(answers.checked);
  for (const v of answers.violations) refunded.fail(v);

  const byState: Record<string, number> = {};
  for (const o of orders) if (paid(o)) byState[o.state] = (byState[o.state] ?? 0) + 1;
  const checks = [oversell, conservation, cache, terminal, paymentCheck, told, bounded, refunded].map((c) => ({
    name: c.name,
    checked: c.checked,
    failed: c.violations.length,
    violations:
      c.violations.length > MAX_LISTED
        ? [...c.violations.slice(0, MAX_LISTED), `... and ${c.violations.length - MAX_LISTED} more`]
        : c.violations,
  }));
  return {
    checks,
    products: figures,
    orders: {
      completed: orders.filter(paid).length,
      failed: orders.filter((o) => o.state === "failed").length,
      pending: orders.filter((o) => o.state === "pending").length,
      byFailure,
      byState,
    },
    payments: paymentStatus,
    unknownAccepted: unknownCauses,
    bound,
  };
}

/** A fault in effect from `startMs` to `endMs` (epoch ms; equal for an instant one, a SIGKILL). */
export interface FaultWindow {
  kind: string;
  startMs: number;
  endMs: number;
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

function checkFinalBound(
  orders: Map<string, OrderTimes>,
  shoppers: ShopperRecord[],
  timeline: Timeline,
  nowMs: number,
  result: { fail(message: string): void; count(n?: number): void },
): BoundFigures {
  const figures: BoundFigures = { orders: 0, longestMs: 0 };
  const at = (ms: number) => `${((ms - timeline.t0) / 1000).toFixed(1)} s`;
  for (const s of shoppers) {
    const told = new Set([...s.accepted, ...Object.keys(s.told)]);
    for (const orderId of told) {
      const o = orders.get(orderId);
      if (!o) continue; // "exactly one terminal state" reports orders MySQL does not know
      result.count();
      figures.orders++;
      // The client may have seen the end before a later write moved updated_at.
      const seen = s.answers
        .filter(
          (a) =>
            a.detail !== undefined &&
            ((a.what === "checkOutCart" &&
              a.detail.startsWith(orderId) &&
              (a.status === 200 || a.status === 402 || (a.status === 409 && !a.detail.includes("in progress")))) ||
              (a.what === `GET /orders ${orderId}` && /^(completed|failed)/.test(a.detail))),
        )
        .map((a) => timeline.t0 + a.at);
      const finalMs = Math.min(o.finalMs ?? nowMs, ...seen);
      const stretch = longestFaultFreeStretch(o.createdMs, finalMs, timeline.faults);
      if (stretch.ms > figures.longestMs) {
        figures.longestMs = stretch.ms;
        figures.longestOrderId = orderId;
      }
      if (stretch.ms > BOUND_SECONDS * 1000)
        result.fail(
          `order ${orderId} (client ${s.plan.clientId}) was not final for ${(stretch.ms / 1000).toFixed(1)} s after ${stretch.after} at ${at(stretch.startMs)} (created ${at(o.createdMs)}, ${o.finalMs === null ? `still pending at ${at(nowMs)}` : `final at ${at(finalMs)}`}; times from the run's start)`,
        );
    }
  }
  return figures;
}

export function describeFinal(s: ShopperRecord): string {
  const f = s.final;
  switch (f.kind) {
    case "success":
      return `Success (${f.orderId})`;
    case "failed":
      return `Failed ${f.status} for ${f.orderId}: ${f.error}`;
    case "rejected":
      return `${f.status} ${f.error}`;
    case "unknown_order":
      return `unknown order ${f.orderId}`;
    case "none":
      return `nothing final (${f.reason})`;
  }
}
