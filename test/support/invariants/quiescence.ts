/**
 * Bringing a test's (or the benchmark's) system to rest before its invariants are read:
 * no checkout job in flight, no order of its products pending, no refund unconfirmed,
 * and every committed decrement applied to product_details.
 */
import { Queue } from "bullmq";
import { z } from "zod";
import { QUEUE_NAMES, createRedis, redisTarget, type RedisClient, errorMessage } from "@oms/shared";
import { flushReservations } from "@oms/workers";
import type { TestEnv } from "../env";
import { readOrders } from "./figures";
import { pendingRefunds } from "./refunds";
import { eventually } from "./wait";

/** What quiescence needs of a system: a test env, or the benchmark's world. */
export type QuietEnv = Omit<TestEnv<RedisClient>, "close">;

export interface QuiescenceOptions {
  /** How long to wait for in-flight checkouts and flushes to finish. */
  timeoutMs?: number;
}

/** Checkout jobs still waiting, delayed or running in this env's queue. */
export async function unfinishedCheckoutJobs(env: QuietEnv): Promise<number> {
  return withQueue(env, "checkout", (queue) => unfinishedJobs(queue));
}

/** Waits until a queue has no job waiting, delayed or running; a timeout is not thrown (the checks report it). */
export async function waitForIdleQueue(env: QuietEnv, name: keyof typeof QUEUE_NAMES, timeoutMs: number) {
  const idle = async (queue: Queue) => ((await unfinishedJobs(queue)) === 0 ? true : undefined);
  await withQueue(env, name, (queue) =>
    eventually(`the ${name} queue to be idle`, () => idle(queue), timeoutMs, 100),
  ).catch(() => undefined);
}

async function unfinishedJobs(queue: Queue): Promise<number> {
  const counts = await queue.getJobCounts("active", "waiting", "delayed", "prioritized", "waiting-children");
  return Object.values(counts).reduce((s, n) => s + n, 0);
}

async function withQueue<T>(env: QuietEnv, name: keyof typeof QUEUE_NAMES, fn: (queue: Queue) => Promise<T>) {
  const connection = createRedis(redisTarget(env.config), { forQueue: true, name: `invariants-${env.id}` });
  const queue = new Queue(QUEUE_NAMES[name], { connection, prefix: env.keys.queuePrefix(name) });
  try {
    return await fn(queue);
  } finally {
    await queue.close();
    connection.disconnect();
  }
}

const CountRow = z.object({ n: z.coerce.number() }).optional();

async function unflushedRows(env: QuietEnv): Promise<number> {
  return CountRow.parse(await env.db("reserve_purchase").count({ n: "*" }).first())?.n ?? 0;
}

/**
 * Waits until no checkout job is in flight, no order of these products is pending, and
 * every committed decrement has been applied to product_details (flushing here too;
 * other flushers may hold rows with SKIP LOCKED, so it loops until the table is empty).
 * A timeout is not thrown: what is still off is reported by the checks that follow.
 */
export async function waitForQuiescence(
  env: QuietEnv,
  productIds: string[],
  options: QuiescenceOptions = {},
): Promise<{ lastFlushError: string | null }> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  let lastFlushError: string | null = null;
  await withQueue(env, "checkout", (queue) =>
    eventually(
      "checkout jobs to finish and no order to be pending",
      async () => {
        const jobs = await unfinishedJobs(queue);
        const pending = (await readOrders(env.db, productIds)).filter((o) => o.state === "pending").length;
        // A recorded refund is not at rest until the provider confirmed it.
        const refunds = await pendingRefunds(env.db);
        return jobs === 0 && pending === 0 && refunds === 0 ? true : undefined;
      },
      timeoutMs,
    ).catch(() => undefined),
  );
  await eventually(
    "reserve_purchase to be flushed",
    async () => {
      // A deadlock with a worker's flush is retried here; an error that persists is reported.
      lastFlushError = await flushReservations(env.db, 1000).then(
        () => null,
        (err: unknown) => errorMessage(err),
      );
      return (await unflushedRows(env)) === 0 ? true : undefined;
    },
    timeoutMs,
  ).catch(() => undefined);
  return { lastFlushError };
}

/**
 * Flushes until no reserve_purchase row is left. A worker's own flush job may hold some
 * rows (SKIP LOCKED passes them by), so one call can return before they are applied.
 */
export async function flushAll(env: QuietEnv, timeoutMs = 15_000): Promise<void> {
  await eventually(
    "reserve_purchase to be flushed",
    async () => {
      await flushReservations(env.db, 1000);
      return (await unflushedRows(env)) === 0 ? true : undefined;
    },
    timeoutMs,
  );
}
