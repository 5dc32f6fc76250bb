import { Worker, type Processor } from "bullmq";
import {
  logFailure,
  EVENT_QUEUE_NAMES,
  createEventQueue,
  type EventQueueName,
  type WebhookOutcome,
  errorMessage,
} from "@oms/shared";
import type { WorkerDeps } from "../deps";
import { instrumentWorker } from "../observability/metrics";
import { fanOutProcessor, webhookProcessor, type EventDeps } from "./processors";
import { relayOutbox } from "./relay";
import { isDependencyDown } from "../outage";
import { consumerOptions } from "../consumer-options";

export interface EventPipeline {
  workers: Worker[];
  close(): Promise<void>;
}

/**
 * The outbox relay and the `events` and `webhooks` consumers, run by every worker process
 * that consumes `inventory`. The relay polls the outbox every EVENTS_RELAY_INTERVAL_MS (and
 * at once again after a full batch); relays in several processes share the rows, never
 * enqueueing one twice.
 */
export async function startEventPipeline(deps: WorkerDeps): Promise<EventPipeline> {
  const { config, keys, logger } = deps;
  const events = createEventQueue("events", deps.redis, keys);
  const webhooks = createEventQueue("webhooks", deps.redis, keys);
  for (const queue of [events, webhooks])
    queue.on("error", (err) => logger.warn({ queue: queue.name, err: err.message }, "queue connection error"));
  const count = (outcome: WebhookOutcome) => {
    deps.metrics.webhookDeliveries.inc({ outcome });
    deps.redis
      .hincrby(keys.webhookOutcomes, outcome, 1)
      .catch((err: unknown) => logger.warn({ outcome, err: String(err) }, "webhook outcome not counted"));
  };
  const eventDeps: EventDeps = { db: deps.db, logger, config, webhooks, count };

  const start = (name: EventQueueName, processor: Processor, concurrency: number) => {
    const worker = new Worker(EVENT_QUEUE_NAMES[name], processor, consumerOptions(config, keys, name, concurrency));
    worker.on("error", (err) => logger.error({ queue: name, err: err.message }, "worker error"));
    worker.on("failed", (job, err) => logger.warn({ queue: name, jobId: job?.id, err: err.message }, "job failed"));
    instrumentWorker(worker, name, deps.metrics);
    return worker;
  };
  const workers = [
    start("events", fanOutProcessor(eventDeps), 4),
    start("webhooks", webhookProcessor(eventDeps), config.WEBHOOK_CONCURRENCY),
  ];
  await Promise.all(workers.map((w) => w.waitUntilReady()));

  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let pass: Promise<void> = Promise.resolve();
  const relay = async () => {
    try {
      await relayOutbox(deps.db, events, config.EVENTS_RELAY_BATCH);
    } catch (err) {
      // The rows stay in the outbox; the next pass takes them (oms_outbox_lag_seconds shows the
      // wait). An outage is logged once per pass at debug: the outage itself is logged elsewhere.
      const level = isDependencyDown(err) ? "debug" : "warn";
      logger[level]({ err: errorMessage(err) }, "outbox relay pass failed");
    }
    if (!stopped) timer = setTimeout(() => (pass = relay()), config.EVENTS_RELAY_INTERVAL_MS);
  };
  pass = relay();

  return {
    workers,
    async close() {
      stopped = true;
      clearTimeout(timer);
      await pass;
      await Promise.all(workers.map((w) => w.close()));
      await Promise.all(
        [events, webhooks].map((q) => q.close().catch(logFailure(logger, "queue not closed", "debug"))),
      );
    },
  };
}
