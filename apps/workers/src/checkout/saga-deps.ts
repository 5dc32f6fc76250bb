import type { WorkerDeps } from "../deps";
import { requestFlush } from "../inventory/request-flush";
import type { SagaDeps } from "./steps/step";

/** The Redis saga's view of a worker process's parts. */
export function sagaDeps(deps: WorkerDeps): SagaDeps {
  return {
    orders: deps.orders,
    engine: deps.engine,
    payment: deps.payment,
    redis: deps.redis,
    keys: deps.keys,
    holdTtlMs: deps.config.HOLD_TTL_MS,
    requestFlush: requestFlush(deps.inventoryQueue, deps.config.FLUSH_WINDOW_MS),
    logger: deps.logger,
    observeReservation: (seconds) => deps.metrics.reservationDuration.observe(seconds),
    ...(deps.checkpoint ? { checkpoint: deps.checkpoint } : {}),
  };
}
