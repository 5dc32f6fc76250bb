import { UnrecoverableError, type Job } from "bullmq";
import { CartJob, CheckoutJob, InventoryJob, recordSpan, type CheckoutResult, errorMessage } from "@oms/shared";
import { addToCart } from "./cart/add-to-cart";
import { clearCart, setCartLine } from "./cart/edit-cart";
import { pruneCartOperations } from "./cart/prune";
import { pruneEvents } from "./events/prune";
import { compensateCheckout } from "./checkout/saga";
import { sagaDeps } from "./checkout/saga-deps";
import type { CartAnswer } from "./checkout/reservation";
import { flushReservations } from "./inventory/flush";
import { endOrphanedOrders, refundStrandedCharges } from "./inventory/recovery";
import { settleEndedHolds } from "./inventory/settle-holds";
import { reconcileStock } from "./inventory/reconcile";
import { settlePendingRefunds, settleRefund, type RefundDeps } from "./payment/refunds";
import type { WorkerDeps } from "./deps";
import { isDependencyDown, retryAfterOutage } from "./outage";

export function cartProcessor(deps: WorkerDeps) {
  const replaced = deps.reservation.cart;
  if (replaced) return replaced;
  return async (job: Job): Promise<CartAnswer> => {
    const data = CartJob.parse(job.data);
    const operationId = job.id ?? "";
    switch (data.type) {
      case "addToCart":
        return addToCart(data, operationId, deps);
      case "setCartLine":
        return setCartLine(data, operationId, deps);
      case "clearCart":
        return clearCart(data, operationId, deps);
      default: {
        const unhandled: never = data;
        throw new Error(`unknown cart job ${JSON.stringify(unhandled)}`);
      }
    }
  };
}

export function checkoutProcessor(deps: WorkerDeps) {
  const saga = sagaDeps(deps);
  const run = deps.reservation.checkout(deps);
  return async (job: Job, token?: string): Promise<CheckoutResult> => {
    const data = CheckoutJob.parse(job.data);
    // Under BullMQ's process span: from when the job was due until this delivery began.
    recordSpan("queue wait", job.timestamp + (job.delay || 0), job.processedOn ?? Date.now(), {
      "oms.order_id": data.orderId,
      "messaging.bullmq.attempts_made": job.attemptsMade,
    });
    // Outcomes are counted where orders end (OrderStore), once each, not per delivery.
    return settleCheckout(job, token, data);
  };

  async function settleCheckout(job: Job, token: string | undefined, data: CheckoutJob): Promise<CheckoutResult> {
    try {
      return await run(data);
    } catch (err) {
      const reason = errorMessage(err);
      if (isDependencyDown(err)) return waitForDependency(job, token, data, reason);
      if (err instanceof UnrecoverableError) {
        // The job can never succeed and the order it names may be someone else's: the
        // final-failure compensation would end, release and refund that order. Fail the job only.
        deps.logger.warn({ orderId: data.orderId, jobId: job.id, err: reason }, "checkout job can never succeed");
        throw err;
      }
      const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      deps.logger.warn(
        { orderId: data.orderId, jobId: job.id, attempt: job.attemptsMade + 1, lastAttempt, err: reason },
        "checkout step failed",
      );
      if (!lastAttempt) throw err;
      // No more deliveries: end the order cleanly instead of leaving it pending, but
      // only while what ending it needs is there; otherwise keep the job and try later.
      try {
        return await compensateCheckout(
          data,
          saga,
          `checkout failed after ${job.attemptsMade + 1} attempts: ${reason}`,
        );
      } catch (cleanupErr) {
        if (!isDependencyDown(cleanupErr)) throw cleanupErr;
        return waitForDependency(job, token, data, cleanupErr instanceof Error ? cleanupErr.message : reason);
      }
    }
  }

  async function waitForDependency(
    job: Job,
    token: string | undefined,
    data: CheckoutJob,
    reason: string,
  ): Promise<never> {
    // Debug: during an outage every waiting checkout passes here about once per retry.
    deps.logger.debug(
      { orderId: data.orderId, jobId: job.id, err: reason, retryInMs: deps.config.OUTAGE_RETRY_MS },
      "checkout waits for MySQL or Redis to answer again (not counted as an attempt)",
    );
    return retryAfterOutage(job, token, deps.config.OUTAGE_RETRY_MS);
  }
}

export function inventoryProcessor(deps: WorkerDeps) {
  const saga = sagaDeps(deps);
  const { checkpoint } = deps;
  const refundDeps: RefundDeps = {
    db: deps.db,
    refunds: deps.refunds,
    logger: deps.logger,
    ...(checkpoint ? { checkpoint: () => checkpoint("refund-answered") } : {}),
  };
  return async (job: Job): Promise<unknown> => {
    const data = InventoryJob.parse(job.data);
    switch (data.type) {
      case "flush": {
        const flushed = await flushReservations(deps.db, deps.config.FLUSH_BATCH_SIZE, {
          lowThreshold: deps.config.STOCK_LOW_THRESHOLD,
        });
        if (flushed.refused.length > 0)
          deps.logger.error(
            { products: flushed.refused },
            "flush refused: these products' levels are below their sold and unflushed units; raise them",
          );
        return flushed;
      }
      case "sweepHolds": {
        const released = await deps.engine.sweepExpired();
        const settled = await settleEndedHolds(deps);
        // A pending order with no live job will never finish: end it (ORPHAN_AFTER_MS).
        const olderThan = new Date(Date.now() - deps.config.ORPHAN_AFTER_MS);
        const stuck = await endOrphanedOrders(
          deps,
          saga,
          olderThan,
          "checkout abandoned: its job ended without finishing the order",
        );
        const refunded = await refundStrandedCharges(deps);
        const refundsSettled = await settlePendingRefunds(refundDeps, deps.config.REFUND_SWEEP_AFTER_MS);
        return { released, settled, stuck, refunded, refundsSettled };
      }
      case "reconcile":
        return reconcileStock(deps.db, deps.engine, deps.logger, deps.metrics.driftRepairs);
      case "refund":
        return { outcome: await settleRefund(refundDeps, data.refundId) };
      case "prune":
        return {
          cartOperations: await pruneCartOperations(deps.db, { retentionMs: deps.config.CART_REPLAY_RETENTION_MS }),
          ...(await pruneEvents(deps.db, { retentionMs: deps.config.EVENTS_RETENTION_MS })),
        };
      default: {
        const unhandled: never = data;
        throw new Error(`unknown inventory job ${JSON.stringify(unhandled)}`);
      }
    }
  };
}
