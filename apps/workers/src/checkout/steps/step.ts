import type { CheckoutJob, CheckoutResult, Keyspace, Logger } from "@oms/shared";
import type { InventoryEngine } from "@oms/inventory";
import type { RedisClient } from "@oms/shared";
import type { PaymentProvider } from "../../payment/provider";
import type { Failure, Order } from "../order";
import type { OrderStore } from "../order-store";

/** The points between saga steps where a worker may die; each must be safe to resume from. */
export const SAGA_STEPS = ["created", "reserved", "committing", "charged", "committed", "finished"] as const;
export type SagaStep = (typeof SAGA_STEPS)[number];

export interface SagaDeps {
  orders: OrderStore;
  engine: InventoryEngine;
  payment: PaymentProvider;
  redis: RedisClient;
  keys: Keyspace;
  holdTtlMs: number;
  /** Asks the inventory queue to apply committed decrements to MySQL soon. */
  requestFlush(): Promise<void>;
  logger: Logger;
  /** Seconds the reservation took (for the latency histogram). */
  observeReservation?(seconds: number): void;
  /** Called after each step; the chaos suite uses it to kill the process at a chosen step. */
  checkpoint?(step: SagaStep): Promise<void>;
}

/** One checkout as it runs: what the steps so far learned. */
export interface CheckoutRun {
  job: CheckoutJob;
  deps: SagaDeps;
  /** The pending order, once created (or found from an earlier delivery). */
  order?: Order;
  /** The payment's reference, once charged. */
  paymentRef?: string;
}

/** What a step tells the saga to do next. */
export type StepOutcome =
  | { next: true }
  /** Answer without an order to end (an empty cart, another checkout of the cart running). */
  | { answer: CheckoutResult }
  /** The order already ended (an earlier delivery, or another path): settle it as it ended. */
  | { ended: Omit<Order, "items"> }
  /** End the order failed, for this reason. */
  | { fail: Failure };

/**
 * A step of the checkout saga: `run` does one thing, safe to replay; `compensate` undoes
 * it, and is a no-op when there is nothing to undo (never ran, already undone).
 */
export interface CheckoutStep {
  /** The checkpoint reached once `run` went on to the next step. */
  name: SagaStep;
  run(run: CheckoutRun): Promise<StepOutcome>;
  compensate?(run: CheckoutRun): Promise<void>;
}

export const NEXT: StepOutcome = { next: true };

/** The pending order a step after `created` works on. */
export function orderOf(run: CheckoutRun): Order {
  if (!run.order) throw new Error(`checkout ${run.job.orderId}: no order before this step`);
  return run.order;
}
