import { z } from "zod";
import { dbNumber, parseRows } from "@oms/shared";
import type { ApiDeps } from "../deps";
import { failure, success, type HttpResult } from "../http/result";
import { infrastructureFailure } from "../handlers/errors";

/**
 * GET /admin/holds: live stock holds, soonest to expire first, then those whose payment
 * started (they no longer expire: expiresAt null).
 */
export async function listHolds(deps: ApiDeps): Promise<HttpResult> {
  try {
    const ids = await deps.engine.liveHoldIds(200);
    const holds = (await Promise.all(ids.map((id) => deps.engine.hold(id)))).filter((h) => h !== null);
    return success({
      count: await deps.engine.liveHoldCount(),
      holds: holds.map((h) => ({
        orderId: h.orderId,
        state: h.state,
        expiresAt: h.state === "held" ? new Date(h.expiresAt).toISOString() : null,
        lines: h.lines,
      })),
    });
  } catch (err) {
    return infrastructureFailure(err);
  }
}

const PendingFlushRow = z.object({ product_id: z.string(), orders: dbNumber, units: dbNumber, oldest: z.date() });

/** GET /admin/flushes: committed decrements not yet applied to product_details. */
export async function pendingFlushes(deps: ApiDeps): Promise<HttpResult> {
  try {
    const rows = parseRows(
      PendingFlushRow,
      await deps
        .db("reserve_purchase")
        .select("product_id")
        .count({ orders: "reserve_id" })
        .sum({ units: "quantity" })
        .min({ oldest: "created_at" })
        .groupBy("product_id")
        .orderBy("product_id"),
    );
    return success({
      products: rows.map((r) => ({
        productID: r.product_id,
        orders: Number(r.orders),
        units: Number(r.units),
        oldest: r.oldest,
      })),
    });
  } catch (err) {
    return infrastructureFailure(err);
  }
}

/** The queues whose failed jobs an admin may re-drive. */
export const RETRIABLE_QUEUES = ["cart", "checkout", "inventory", "events", "webhooks"] as const;
type RetriableQueue = (typeof RETRIABLE_QUEUES)[number];

/** POST /admin/jobs/:queue/retry-failed: re-drive the queue's failed jobs. */
export async function retryFailedJobs(deps: ApiDeps, queueName: string): Promise<HttpResult> {
  const known = RETRIABLE_QUEUES.find((q): q is RetriableQueue => q === queueName);
  if (!known) return failure("NOT_FOUND", `unknown queue ${queueName}; one of ${RETRIABLE_QUEUES.join(", ")}`);
  const queue = deps.queues[known];
  try {
    const failed = await queue.getJobCountByTypes("failed");
    await queue.retryJobs({ state: "failed" });
    return success({ queue: queueName, retried: failed });
  } catch (err) {
    return infrastructureFailure(err);
  }
}

/** POST /admin/reconcile: run the reconciler now, on the inventory queue, and report what it repaired. */
export async function reconcileNow(deps: ApiDeps): Promise<HttpResult> {
  try {
    const job = await deps.queues.inventory.add("reconcile", { type: "reconcile" });
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const state = await job.getState();
      if (state === "completed") {
        const done = await deps.queues.inventory.getJob(job.id ?? "");
        return success({ jobId: job.id, report: done?.returnvalue ?? null });
      }
      if (state === "failed")
        return failure(
          "DEPENDENCY_UNAVAILABLE",
          "the reconciler failed; see the inventory queue",
          { jobId: job.id },
          { "Retry-After": "5" },
        );
      await new Promise((r) => setTimeout(r, 200));
    }
    return { status: 202, body: { status: "Pending", error: "", jobId: job.id } };
  } catch (err) {
    return infrastructureFailure(err);
  }
}
