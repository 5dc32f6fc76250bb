/**
 * The chaos run's invariants, read straight from MySQL (a direct connection, not the
 * proxy) and from Redis once the system is quiet and a flush and a reconcile ran. The
 * system's invariants are the shared checker's (test/support/invariants/system.ts); this
 * adds what only the run knows: the restocks its API confirmed, what its clients were
 * told, when its faults were in effect, and the lifecycle moves it sent.
 */
import type { Keyspace, Knex, RedisClient } from "@oms/shared";
import { Check, type CheckResult } from "../support/invariants/check";
import type { OrderRow, ProductBook, ProductFigures } from "../support/invariants/figures";
import { paid } from "../support/invariants/order-checks";
import { checkSystem } from "../support/invariants/system";
import type { ShopperRecord } from "./shopper";
import { checkLifecycleAnswers, type LifecycleAction } from "./lifecycle";
import { checkFinalBound, readOrderTimes, type BoundFigures, type FaultWindow, type Timeline } from "./time-bound";

export type { CheckResult, FaultWindow, ProductBook, ProductFigures, Timeline };

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

/** What the queue knows of a checkout job (for orders MySQL does not know), and a short cause. */
type DescribeJob = (orderId: string) => Promise<{ text: string; cause: string }>;

export async function checkInvariants(
  db: Knex,
  redis: RedisClient,
  keys: Keyspace,
  products: ProductBook[],
  shoppers: ShopperRecord[],
  /** Cancels, refunds, fulfils and ships the run sent, with their final answers. */
  actions: LifecycleAction[],
  timeline: Timeline,
  describeJob: DescribeJob = async () => ({ text: "", cause: "unknown" }),
): Promise<InvariantReport> {
  // A Redis restarted empty leaves levels uncached until their next load: that is allowed.
  const system = await checkSystem({ db, redis, keys }, products, { allowUncached: true });
  const { orders } = system;
  const orderById = new Map(orders.map((o) => [o.order_id, o]));
  const { check: accepted, unknownAccepted } = await acceptedCheck(shoppers, orderById, describeJob);
  const { check: bounded, bound } = checkFinalBound(await readOrderTimes(db), shoppers, timeline, Date.now());
  const answers = await checkLifecycleAnswers(db, actions);
  const lifecycle = new Check("every cancel, refund, fulfil or ship told done was done");
  lifecycle.count(answers.checked);
  for (const v of answers.violations) lifecycle.fail(v);

  const { oversell, conservation, cache, terminal, payments, refunds } = system.checks;
  const checks = [oversell, conservation, cache, terminal, accepted, payments, toldCheck(shoppers, orders)];
  return {
    checks: [...checks, bounded, refunds, lifecycle].map((c) => c.result()),
    products: system.products,
    orders: {
      completed: system.figures.completedOrders,
      failed: system.figures.failedOrders,
      pending: system.figures.pendingOrders,
      byFailure: tally(orders.filter((o) => o.state === "failed").map((o) => o.failure_code ?? "?")),
      byState: tally(orders.filter(paid).map((o) => o.state)),
    },
    payments: tally(system.payments.map((p) => p.status)),
    unknownAccepted,
    bound,
  };
}

function tally(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1;
  return counts;
}

/** Every order id the API handed a client is an order of that client, and none told failed was paid. */
async function acceptedCheck(
  shoppers: ShopperRecord[],
  orderById: Map<string, OrderRow>,
  describeJob: DescribeJob,
): Promise<{ check: Check; unknownAccepted: Record<string, number> }> {
  const check = new Check("every accepted checkout in exactly one terminal state");
  const unknownAccepted: Record<string, number> = {};
  for (const s of shoppers) {
    for (const orderId of s.accepted) {
      check.count();
      const o = orderById.get(orderId);
      if (!o) {
        const job = await describeJob(orderId);
        unknownAccepted[job.cause] = (unknownAccepted[job.cause] ?? 0) + 1;
        check.fail(
          `client ${s.plan.clientId} was given order ${orderId} (${s.answers
            .filter((a) => a.what === "checkOutCart" && a.detail?.startsWith(orderId))
            .map((a) => `HTTP ${a.status} sent at ${a.sentAt} ms, answered at ${a.at} ms`)
            .join(", ")}), which MySQL does not know; ${job.text}`,
        );
      } else if (o.client_id !== s.plan.clientId)
        check.fail(`order ${orderId} given to ${s.plan.clientId} belongs to ${o.client_id}`);
    }
    for (const [orderId, told] of Object.entries(s.told)) {
      check.count();
      const o = orderById.get(orderId);
      if (told === "failed" && o && paid(o))
        check.fail(`client ${s.plan.clientId} was told order ${orderId} failed, but it completed`);
    }
  }
  return { check, unknownAccepted };
}

/** What the clients were told matches what happened, both ways. */
function toldCheck(shoppers: ShopperRecord[], orders: OrderRow[]): Check {
  const check = new Check('every client told "Success" has a completed order');
  const orderById = new Map(orders.map((o) => [o.order_id, o]));
  const shopperByClient = new Map(shoppers.map((s) => [s.plan.clientId, s]));
  for (const s of shoppers) {
    for (const [orderId, answer] of Object.entries(s.told)) {
      if (answer !== "success") continue;
      check.count();
      const o = orderById.get(orderId);
      if (!o || !paid(o))
        check.fail(
          `client ${s.plan.clientId} was told Success for order ${orderId}, which is ${o?.state ?? "unknown"}`,
        );
    }
  }
  for (const o of orders) {
    if (!paid(o)) continue;
    check.count();
    const s = shopperByClient.get(o.client_id);
    if (!s) {
      check.fail(`completed order ${o.order_id} belongs to ${o.client_id}, not a client of this run`);
      continue;
    }
    if (s.told[o.order_id] === "success" || s.final.kind === "none") continue;
    check.fail(
      `order ${o.order_id} of ${o.client_id} completed, but the client was finally told ${describeFinal(s)} (answers: ${s.answers
        .map((a) => `${a.what} -> ${a.status}${a.detail ? ` ${a.detail}` : ""}`)
        .join("; ")})`,
    );
  }
  return check;
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
