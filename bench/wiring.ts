/**
 * How each design wires the API and the workers: production's defaults for ours, the
 * MySQL-only reservations for the baselines, workers that do nothing for the floor.
 * Spawned processes get it through their own entry points (bench/entry/, named in
 * system.ts), the in-process stack directly; production's config has no such switch.
 */
import { CartJob } from "@oms/shared";
import type { ApiWiring } from "@oms/api";
import { batchedReservation, lockingReservation, type ReservationStrategy, type WorkerWiring } from "@oms/workers";
import type { DesignId } from "./types";

/**
 * The floor: the same HTTP and queue round trips, and no work; each job answered at
 * once with a success of its own type. The cache is left as it is (its schedules run).
 */
export const noopReservation: ReservationStrategy = {
  name: "noop",
  cachesStockInRedis: true,
  checkout: () => async (job) => ({ outcome: "completed", orderId: job.orderId, totalCents: 0 }),
  cart: async (job) => {
    const parsed = CartJob.safeParse(job.data);
    const type = parsed.success ? parsed.data.type : "addToCart";
    if (type === "clearCart") return { outcome: "cleared", removedLines: 0 };
    if (type === "setCartLine") return { outcome: "set", quantityInCart: 1, available: 1 };
    return { outcome: "added", quantityInCart: 1, available: 1 };
  },
};

/** The MySQL-only designs keep no cached levels, so the API may not refuse from them. */
export const API_WITHOUT_CACHE: ApiWiring = { soldOutFastPath: false };

export const DESIGN_WIRING: Record<DesignId, { api: ApiWiring; workers: WorkerWiring }> = {
  redis: { api: {}, workers: {} },
  "redis-cluster": { api: {}, workers: {} },
  "redis-nolimit": { api: {}, workers: {} },
  "mysql-locking": { api: API_WITHOUT_CACHE, workers: { reservation: lockingReservation } },
  "mysql-batched": { api: API_WITHOUT_CACHE, workers: { reservation: batchedReservation } },
  noop: { api: {}, workers: { reservation: noopReservation } },
};
