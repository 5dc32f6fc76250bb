/**
 * The end of a chaos run, before its checks: wait until the system is at rest (no
 * pending order, no unconfirmed refund, checkout queue idle), flush the inventory
 * counts to MySQL, and reconcile Redis with it once, as the checks expect.
 */
import { sleep } from "./infra";
import type { ChaosSystem } from "./system";
import type { Timeline } from "./timeline";
import { pendingRefunds } from "../support/invariants/refunds";

async function busyCheckoutJobs(system: ChaosSystem): Promise<number> {
  const counts = await system.checkoutQueue?.getJobCounts("active", "waiting", "delayed", "prioritized");
  return Object.values(counts ?? {}).reduce((s, n) => s + n, 0);
}

/** Pending orders, and refunds the provider has not confirmed yet: neither is at rest. */
async function pendingOrders(system: ChaosSystem): Promise<number> {
  const row = (await system.db()("orders").where({ state: "pending" }).count({ n: "*" }).first()) as
    { n: number | string } | undefined;
  return Number(row?.n ?? 0) + (await pendingRefunds(system.db()));
}

/** Waits (bounded) for no pending order and idle checkout queue; returns violations. */
export async function waitForQuiescence(
  system: ChaosSystem,
  timeline: Timeline,
  quiescenceMs: number,
): Promise<string[]> {
  const deadline = Date.now() + quiescenceMs;
  let pending = 0;
  let busy = 0;
  for (;;) {
    try {
      pending = await pendingOrders(system);
      busy = await busyCheckoutJobs(system);
      if (pending === 0 && busy === 0) {
        timeline.event("quiet: no pending order, no checkout job in flight");
        return [];
      }
    } catch (err) {
      timeline.event(`quiescence probe failed: ${(err as Error).message}`);
    }
    if (Date.now() > deadline) break;
    await sleep(500);
  }
  const stuck = (await system
    .db()("orders")
    .where({ state: "pending" })
    .limit(10)
    .select("order_id", "updated_at")) as Array<{
    order_id: string;
    updated_at: Date;
  }>;
  return [
    `not quiet after ${quiescenceMs / 1000}s: ${pending} pending orders or unconfirmed refunds (orders: ${stuck
      .map((o) => `${o.order_id} last updated ${o.updated_at.toISOString()}`)
      .join(", ")}), ${busy} checkout jobs in flight`,
  ];
}

/** Asks the inventory queue to flush and waits (bounded) for reserve_purchase to empty. */
export async function flushAll(system: ChaosSystem): Promise<string[]> {
  const deadline = Date.now() + 30_000;
  for (let i = 0; ; i++) {
    const row = (await system.db()("reserve_purchase").count({ n: "*" }).first()) as { n: number | string } | undefined;
    const left = Number(row?.n ?? 0);
    if (left === 0) return [];
    if (Date.now() > deadline) return [`${left} reserve_purchase rows still unflushed after 30 s`];
    if (i % 6 === 0)
      await system.inventoryQueue?.add(
        "flush",
        { type: "flush" },
        { jobId: `chaos-flush-${Date.now()}`, removeOnComplete: true },
      );
    await sleep(500);
  }
}

/** POST /admin/reconcile until it answers 200; returns how many levels it repaired. */
export async function reconcile(system: ChaosSystem, timeline: Timeline): Promise<number> {
  const http = system.http;
  if (!http) return 0;
  for (let attempt = 0; attempt < 10; attempt++) {
    try {
      const res = await http.request(
        "POST",
        "/admin/reconcile",
        {},
        { authorization: `Bearer ${system.adminToken}` },
        40_000,
      );
      timeline.event(`reconcile: ${res.status} ${JSON.stringify(res.body)}`);
      if (res.status === 200) {
        const report = res.body.report as { repaired?: number; repairs?: unknown[] } | null;
        const repaired = report?.repaired ?? 0;
        if (repaired) timeline.count("reconcile_repairs_at_end", repaired);
        return repaired;
      }
    } catch (err) {
      timeline.event(`reconcile: ${(err as Error).message}`);
    }
    await sleep(1_000);
  }
  timeline.notes.push("POST /admin/reconcile never answered 200");
  return 0;
}

/** What the checkout queue knows of a job (its id is the order id), for the checks' messages. */
export async function describeJob(system: ChaosSystem, orderId: string): Promise<{ text: string; cause: string }> {
  const job = await system.checkoutQueue?.getJob(orderId).catch(() => undefined);
  if (!job) return { text: "the checkout queue has no such job (lost with Redis, or removed)", cause: "job lost" };
  const state = await job.getState().catch(() => "unknown");
  const value = job.returnvalue as { outcome?: string } | null | undefined;
  return {
    text: `its job is ${state}, attempts ${job.attemptsMade}, returned ${JSON.stringify(job.returnvalue)}${
      job.failedReason ? `, failed: ${job.failedReason}` : ""
    }`,
    cause: `job ${state}${value?.outcome ? ` with ${value.outcome}` : ""}`,
  };
}
