/** How big a chaos run is and how many of each fault it injects: the full and the short form. */
import { SAGA_STEPS } from "../../apps/workers/src/checkout/saga";
import type { ShopperLimits } from "./shopper";
import type { Checkpoint as CrashPoint } from "@oms/workers";

export interface Shape {
  clients: number;
  loadWindowMs: number;
  hotStock: number;
  bulkStock: number;
  restockStock: number;
  restockAdd: number;
  randomKills: number;
  redisRestarts: number;
  dbCuts: number;
  /** SIGSTOPs of a worker for longer than its job lock. */
  freezes: number;
  /** SIGKILLs of the autoscaler (its workers must exit with it), each followed by a new one. */
  autoscalerKills: number;
  /** SIGKILLs of the run's own MariaDB, each down for a time in `crashDownMs`. */
  mysqlCrashes: number;
  crashDownMs: [number, number];
  redeliveryBatches: number;
  redeliveriesPerBatch: number;
  steps: CrashPoint[];
  /** When Redis restarts and workers are killed at random, as fractions of the load window. */
  redisWindow: [number, number];
  killWindow: [number, number];
  limits: ShopperLimits;
  quiescenceMs: number;
  /** Share of shoppers that cancel once told Success, and how often the operator refunds, fulfils or ships. */
  cancelShare: number;
  operatorEveryMs: number;
}

export const FULL: Shape = {
  clients: 300,
  loadWindowMs: 25_000,
  hotStock: 50,
  bulkStock: 400,
  restockStock: 20,
  restockAdd: 30,
  randomKills: 3,
  redisRestarts: 1,
  dbCuts: 2,
  freezes: 2,
  autoscalerKills: 1,
  mysqlCrashes: 1,
  crashDownMs: [5_000, 20_000],
  redeliveryBatches: 3,
  redeliveriesPerBatch: 4,
  // Every saga step, inside a group-commit transaction before it commits, and between a
  // refund's provider answer and its record.
  steps: [...SAGA_STEPS, "mid-batch", "refund-answered"],
  redisWindow: [0.25, 0.6],
  killWindow: [0.06, 0.9],
  limits: { cartAttempts: 5, checkoutAttempts: 8, pollBudgetMs: 100_000 },
  quiescenceMs: 90_000,
  cancelShare: 0.1,
  operatorEveryMs: 1_000,
};

export const SHORT: Shape = {
  clients: 80,
  loadWindowMs: 8_000,
  hotStock: 20,
  bulkStock: 120,
  restockStock: 10,
  restockAdd: 15,
  randomKills: 1,
  redisRestarts: 1,
  dbCuts: 1,
  freezes: 1,
  autoscalerKills: 1,
  mysqlCrashes: 1,
  crashDownMs: [5_000, 6_000],
  redeliveryBatches: 1,
  redeliveriesPerBatch: 4,
  steps: ["reserved", "charged", "mid-batch", "committed", "refund-answered"],
  // Redis restarts early and the random kill comes late, so the kill leaves running jobs
  // behind that BullMQ must re-deliver (a restart after it would wipe them instead).
  redisWindow: [0.1, 0.3],
  killWindow: [0.6, 0.9],
  limits: { cartAttempts: 5, checkoutAttempts: 8, pollBudgetMs: 70_000 },
  quiescenceMs: 45_000,
  cancelShare: 0.12,
  operatorEveryMs: 700,
};
