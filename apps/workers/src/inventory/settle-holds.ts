import { OrderState, PAID_STATES, parseRows, wasPaid } from "@oms/shared";
import { z } from "zod";
import type { WorkerDeps } from "../deps";

const EndedRow = z.object({ order_id: z.string(), state: OrderState });

/**
 * Live holds whose order already ended in MySQL: the Redis step that should have
 * followed was lost. A failover to a replica that missed the primary's last writes
 * (Sentinel, Cluster) does that, and so does a worker killed between its MySQL commit
 * and its Redis step (whose replay would finish it; this does not wait for one). A
 * paid order's hold (completed, or any state after it: cancelled, refunded, fulfilled,
 * shipped) is committed and a failed order's released, as the saga does, each a no-op
 * when done before; left alone, a lost commit would keep its units held for
 * good. Returns how many holds were settled.
 */
export async function settleEndedHolds(deps: Pick<WorkerDeps, "db" | "engine">, limit = 500): Promise<number> {
  const ids = await deps.engine.liveHoldIds(limit);
  if (ids.length === 0) return 0;
  const ended = parseRows(
    EndedRow,
    await deps
      .db("orders")
      .whereIn("order_id", ids)
      .whereIn("state", [...PAID_STATES, "failed"])
      .select("order_id", "state"),
  );
  let settled = 0;
  for (const { order_id: orderId, state } of ended) {
    const result = wasPaid(state) ? await deps.engine.commit(orderId) : await deps.engine.release(orderId);
    if (result.ok) settled++;
  }
  return settled;
}
