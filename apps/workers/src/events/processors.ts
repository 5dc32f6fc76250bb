import { DelayedError, UnrecoverableError, type Job, type Queue } from "bullmq";
import {
  logFailure,
  EventJob,
  WebhookJob,
  deliveryJobId,
  type WorkerConfig,
  type Knex,
  type Logger,
  type WebhookOutcome,
} from "@oms/shared";
import { isDependencyDown, retryAfterOutage } from "../outage";
import { endDelivery, firstBlocker, loadDelivery, markWaiting, nextOfOrder, recordAttempt } from "./delivery-store";
import type { Delivery } from "./delivery-store";
import { sendEvent } from "./send";

/** How long a delivery job waits for its delivery row to commit before it is dropped. */
const ORPHAN_DELIVERY_MS = 600_000;

export interface EventDeps {
  db: Knex;
  logger: Logger;
  config: Pick<
    WorkerConfig,
    "WEBHOOK_TIMEOUT_MS" | "WEBHOOK_BACKOFF_MS" | "WEBHOOK_BACKOFF_MAX_MS" | "WEBHOOK_RETRY_FOR_MS" | "OUTAGE_RETRY_MS"
  >;
  webhooks: Queue;
  /** Counts an outcome (the worker's counter and the system-wide one in Redis); never throws. */
  count(outcome: WebhookOutcome): void;
}

/** A job whose MySQL is away waits for it without spending an attempt (as checkouts do). */
function waitingOutOutages<T>(deps: EventDeps, run: (job: Job, token?: string) => Promise<T>) {
  return async (job: Job, token?: string): Promise<T> => {
    try {
      return await run(job, token);
    } catch (err) {
      if (isDependencyDown(err)) return retryAfterOutage(job, token, deps.config.OUTAGE_RETRY_MS);
      throw err;
    }
  };
}

/**
 * The `events` queue: one job per outbox row, naming the endpoints the relay created its
 * deliveries for. Enqueues one `webhooks` job per delivery (its job id dedupes a replay);
 * no MySQL, so an event no endpoint wants costs two Redis calls.
 */
export function fanOutProcessor(deps: EventDeps) {
  return async (job: Job) => {
    const event = EventJob.parse(job.data);
    await deps.webhooks.addBulk(
      event.endpointIds.map((endpointId) => {
        const data: WebhookJob = { endpointId, eventId: event.eventId };
        return { name: event.type, data, opts: { jobId: deliveryJobId(endpointId, event.eventId) } };
      }),
    );
    return { endpoints: event.endpointIds.length };
  };
}

/**
 * The `webhooks` queue: one job per delivery. It waits while an earlier event of the same
 * order to the same endpoint is neither delivered nor given up; then it POSTs, and on a
 * failure schedules its next attempt itself (WEBHOOK_BACKOFF_MS doubling up to
 * WEBHOOK_BACKOFF_MAX_MS, for WEBHOOK_RETRY_FOR_MS from its first attempt: time spent
 * waiting for a predecessor does not count), so the job's attempts are left for
 * unexpected errors. A delivery already ended is a no-op.
 */
export function webhookProcessor(deps: EventDeps) {
  return waitingOutOutages(deps, async (job, token) => {
    const { endpointId, eventId } = WebhookJob.parse(job.data);
    const delivery = await loadDelivery(deps.db, endpointId, eventId);
    // The relay enqueues before its COMMIT: a job may run before its delivery row is
    // visible. It looks again shortly; a row that never comes (its relay rolled back, and
    // the next relay's job is this one) stops being waited for after ORPHAN_DELIVERY_MS.
    if (!delivery)
      return Date.now() - job.timestamp < ORPHAN_DELIVERY_MS
        ? delay(job, token, new Date(Date.now() + 500))
        : { outcome: "skipped" };
    if (delivery.status !== "pending") return { outcome: "skipped" };
    if (delivery.endpointDeleted) {
      await endDelivery(deps.db, delivery, "cancelled", "the endpoint was deleted");
      deps.count("cancelled");
      return { outcome: "cancelled" };
    }
    const blocker = await firstBlocker(deps.db, delivery, deps.config.WEBHOOK_RETRY_FOR_MS);
    if (blocker) {
      // Its predecessor promotes it when it ends (delivered or given up); until then it looks
      // again just after the predecessor's next try, so a long outage costs one look per try.
      const retryAt = blocker.nextAttemptAt?.getTime() ?? Date.now() + 1_000;
      const until = new Date(Math.max(Date.now() + 250, retryAt + 100));
      await markWaiting(deps.db, delivery, blocker.eventId, until);
      return delay(job, token, until);
    }

    const attempt = delivery.attempts + 1;
    const sent = await sendEvent(
      delivery.url,
      delivery.secret,
      delivery.event,
      attempt,
      deps.config.WEBHOOK_TIMEOUT_MS,
    );
    const log = { endpointId, eventId, orderId: delivery.event.orderId, attempt, statusCode: sent.statusCode };
    if (sent.ok) {
      await recordAttempt(deps.db, delivery, sent, { status: "delivered", nextAttemptAt: null });
      deps.count("delivered");
      await promoteNext(deps, delivery);
      return { outcome: "delivered", attempt };
    }
    if (delivery.triedForMs >= deps.config.WEBHOOK_RETRY_FOR_MS) {
      await recordAttempt(deps.db, delivery, sent, { status: "failed", nextAttemptAt: null });
      deps.count("failed");
      deps.logger.warn({ ...log, err: sent.error }, "webhook delivery given up");
      await promoteNext(deps, delivery);
      throw new UnrecoverableError(`given up after ${attempt} attempts: ${sent.error ?? "failed"}`);
    }
    const wait = backoffMs(attempt, deps.config);
    const next = new Date(Date.now() + wait);
    await recordAttempt(deps.db, delivery, sent, { status: "pending", nextAttemptAt: next });
    deps.count("retried");
    deps.logger.info({ ...log, err: sent.error, retryInMs: wait }, "webhook delivery failed; will retry");
    return delay(job, token, next);
  });
}

/** Exponential: base, 2x base, 4x base, ... capped, with up to 20% jitter so receivers that come back are not stampeded. */
export function backoffMs(
  attempt: number,
  config: Pick<WorkerConfig, "WEBHOOK_BACKOFF_MS" | "WEBHOOK_BACKOFF_MAX_MS">,
) {
  const plain = Math.min(config.WEBHOOK_BACKOFF_MS * 2 ** Math.min(attempt - 1, 40), config.WEBHOOK_BACKOFF_MAX_MS);
  return Math.round(plain * (0.8 + Math.random() * 0.2));
}

async function delay(job: Job, token: string | undefined, until: Date): Promise<never> {
  if (token === undefined) throw new Error(`job ${job.id} has no lock token to delay it with`);
  await job.moveToDelayed(until.getTime(), token);
  throw new DelayedError();
}

/** The next event of the order may be waiting on this one: run it now rather than at its next look. */
async function promoteNext(deps: EventDeps, delivery: Delivery): Promise<void> {
  const next = await nextOfOrder(deps.db, delivery);
  if (!next) return;
  const job = await deps.webhooks.getJob(deliveryJobId(delivery.endpointId, next));
  // Not delayed (running, or not enqueued yet): it looks at this delivery itself.
  if (job && (await job.isDelayed()))
    await job.promote().catch(logFailure(deps.logger, "delivery not promoted: it runs at its planned time", "debug"));
}
