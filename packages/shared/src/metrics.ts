import { Registry, collectDefaultMetrics } from "prom-client";

/** A registry with the process metrics (CPU, memory, event loop) of one process. */
export function createRegistry(component: "api" | "worker" | "autoscaler"): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ component });
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** Checkout outcomes are counted in Redis, so one scrape of any API shows the whole system's totals. */
export const CHECKOUT_OUTCOMES = ["completed", "declined", "out_of_stock", "empty_cart", "failed"] as const;
export type CheckoutOutcome = (typeof CHECKOUT_OUTCOMES)[number];

/**
 * What became of a webhook delivery attempt: delivered (2xx), retried (failed, tried again
 * later), failed (given up after WEBHOOK_RETRY_FOR_MS), cancelled (its endpoint was deleted).
 */
export const WEBHOOK_OUTCOMES = ["delivered", "retried", "failed", "cancelled"] as const;
export type WebhookOutcome = (typeof WEBHOOK_OUTCOMES)[number];
