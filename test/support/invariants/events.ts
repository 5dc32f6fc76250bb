import { z } from "zod";
import type { TestEnv } from "../env";

const EventRow = z.object({ type: z.string() });

/** Outbox events of these orders, counted by type. */
export async function eventCounts(env: TestEnv, orderIds: string[]): Promise<Record<string, number>> {
  const rows = z.array(EventRow).parse(await env.db("events").whereIn("order_id", orderIds).select("type"));
  return rows.reduce<Record<string, number>>((n, r) => ({ ...n, [r.type]: (n[r.type] ?? 0) + 1 }), {});
}
