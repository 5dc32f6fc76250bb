/**
 * How each design wires the API and the workers. Spawned processes get it through bench/entry/,
 * the in-process stack directly; production's config has no such switch.
 */
import { CartJob } from "@oms/shared";
import type { ApiWiring } from "@oms/api";
import { batchedReservation, lockingReservation, type ReservationStrategy, type WorkerWiring } from "@oms/workers";
import type { DesignId } from "./types";

/**
 * The floor: the same HTTP and queue round trips, and no work; each job answered at
 * once with a success of its own type. The cache is left as it is (its schedules run).
 */
const noopReservation: ReservationStrategy = {
  name: "noop",
  cachesStockInRedis: true,
  checkout: () => async (job) => ({ outcome: "completed", orderId: job.orderId, totalCents: 0 }),
  cart: async (job) => {
    const parsed = CartJob.safeParse(job.data);
    const type = parsed.success ? parsed.data.type : "addToCart";
    if (type === "clearCart") return { outcome: "cleared", removedLines: 0 };
    return { outcome: type === "setCartLine" ? "set" : "added", quantityInCart: 1, available: 1 };
  },
};

/** The MySQL-only designs keep no cached levels, so the API may not refuse from them. */
const withoutCache: ApiWiring = { soldOutFastPath: false };

export const DESIGN_WIRING: Record<DesignId, { api: ApiWiring; workers: WorkerWiring }> = {
  ...{ redis: { api: {}, workers: {} }, "redis-cluster": { api: {}, workers: {} } },
  ...{ "redis-nolimit": { api: {}, workers: {} }, noop: { api: {}, workers: { reservation: noopReservation } } },
  "mysql-locking": { api: withoutCache, workers: { reservation: lockingReservation } },
  "mysql-batched": { api: withoutCache, workers: { reservation: batchedReservation } },
};
