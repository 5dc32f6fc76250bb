import type { Job } from "bullmq";
import type { CartResult, CheckoutJob, CheckoutResult, ClearCartResult, SetCartLineResult } from "@oms/shared";
import type { WorkerDeps } from "../deps";
import { runBatchedCheckout } from "./batched-saga";
import { runLockingCheckout } from "./locking-saga";
import { runCheckout } from "./saga";
import { sagaDeps } from "./saga-deps";

export type CartAnswer = CartResult | SetCartLineResult | ClearCartResult;

/**
 * How a worker process reserves stock for a checkout. It is chosen where the process is
 * wired, never by a setting: the production entry point wires the Redis reservation, the
 * benchmark's own entry points wire its MySQL-only baselines and its no-op floor.
 */
export interface ReservationStrategy {
  /** Which design the process runs (for its start-up log). */
  readonly name: string;
  /** Stock lives in Redis: expired holds to sweep, committed decrements to flush, a cache to reconcile. */
  readonly cachesStockInRedis: boolean;
  /** The work of one checkout job, with this process's parts. */
  checkout(deps: WorkerDeps): (job: CheckoutJob) => Promise<CheckoutResult>;
  /** Answers cart jobs in place of the cart work; only the benchmark's no-op floor does. */
  cart?: (job: Job) => Promise<CartAnswer>;
}

/** Ours: holds taken atomically in Redis (Lua), orders in MySQL, decrements flushed behind. */
export const redisReservation: ReservationStrategy = {
  name: "redis",
  cachesStockInRedis: true,
  checkout(deps) {
    const saga = sagaDeps(deps);
    return (job) => runCheckout(job, saga);
  },
};

/** The classic design, the benchmark's baseline: one MySQL transaction locks the product rows. */
export const lockingReservation: ReservationStrategy = {
  name: "mysql-locking",
  cachesStockInRedis: false,
  checkout: (deps) => (job) => runLockingCheckout(job, deps),
};

/** The strongest MySQL-only design we could think of: conditional decrements per group-commit batch. */
export const batchedReservation: ReservationStrategy = {
  name: "mysql-batched",
  cachesStockInRedis: false,
  checkout: (deps) => (job) => runBatchedCheckout(job, deps),
};
