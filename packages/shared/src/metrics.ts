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
