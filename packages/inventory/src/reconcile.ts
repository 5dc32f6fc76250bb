import { InventoryCode, InventoryScriptError } from "./codes";
import type { InventoryCommands } from "./scripts";
import type { InventoryKeys, ReconcileResult, TruthSource } from "./types";
import type { RedisClient } from "@oms/shared";

type Look = Map<string, { drift: number; repaired: boolean } | null>;

/** Most live holds of one shard looked up in MySQL per look (a flash sale has a few hundred). */
const LIVE_HOLDS_PER_SHARD = 5_000;

/**
 * Compares many cached levels with MySQL: one truth query for the lot, one script call
 * per product (in its shard), sent together. Only the products that drifted are looked
 * at again, twice, `settleMs` apart, and repaired if the drift is still the same (a
 * change in flight between MySQL and Redis is not drift). Those two looks also count
 * out the units of live holds whose order MySQL already sold: a checkout between its
 * MySQL commit and its hold's commit, which on a loaded machine can outlast `settleMs`.
 */
export async function reconcileLevels(
  redis: RedisClient & InventoryCommands,
  keys: InventoryKeys,
  truth: TruthSource,
  productIds: string[],
  settleMs: number,
): Promise<ReconcileResult[]> {
  /** Per shard, the live holds whose order MySQL counts as sold; read before the levels are. */
  const soldHolds = async (ids: string[]): Promise<Map<number, string[]>> => {
    const sold = new Map<number, string[]>();
    if (!truth.soldAmong) return sold;
    for (const shard of new Set(ids.map((id) => keys.shardOf(id)))) {
      const live = await redis.zrange(keys.holdExpiries(shard), 0, LIVE_HOLDS_PER_SHARD - 1);
      const orders = await truth.soldAmong(live);
      sold.set(
        shard,
        live.filter((id) => orders.has(id)).map((id) => keys.hold(id, shard)),
      );
    }
    return sold;
  };

  const look = async (
    ids: string[],
    mode: "check" | "repair",
    expected: Look,
    sold: Map<number, string[]>,
  ): Promise<Look> => {
    const levels = await truth(ids);
    const replies = await Promise.all(
      ids.map(async (productId) => {
        const level = levels.get(productId);
        if (level === undefined) return null;
        const holdKeys = sold.get(keys.shardOf(productId)) ?? [];
        const [code = -1, drift = 0, repaired = 0] = await redis.omsReconcile(
          3 + holdKeys.length,
          keys.stock(productId),
          keys.held(keys.shardOf(productId)),
          keys.stockChanges(productId),
          ...holdKeys,
          productId,
          level,
          mode,
          expected.get(productId)?.drift ?? 0,
        );
        if (code === InventoryCode.NOT_LOADED) return null;
        if (code !== InventoryCode.OK) throw new InventoryScriptError("reconcile", code);
        return { drift, repaired: repaired === 1 };
      }),
    );
    return new Map(ids.map((id, i) => [id, replies[i] ?? null]));
  };
  const driftedIn = (ids: string[], seen: Look) => ids.filter((id) => (seen.get(id)?.drift ?? 0) !== 0);

  // A cheap first pass over everything; sold holds are looked up only for what drifted.
  const first = await look(productIds, "check", new Map(), new Map());
  let last: Look = first;
  const drifted = driftedIn(productIds, first);
  if (drifted.length > 0) {
    // Without sold holds to count out, a second look now would only repeat the first.
    const measured = truth.soldAmong ? await look(drifted, "check", new Map(), await soldHolds(drifted)) : first;
    const confirmedIds = driftedIn(drifted, measured);
    last = new Map([...last, ...measured]);
    if (confirmedIds.length > 0) {
      await new Promise((r) => setTimeout(r, settleMs));
      last = new Map([...last, ...(await look(confirmedIds, "repair", measured, await soldHolds(confirmedIds)))]);
    }
  }
  return productIds.map((productId) => {
    const seen = last.get(productId);
    if (!seen) return { productId, drift: null, repaired: false };
    return { productId, drift: seen.drift, repaired: seen.repaired };
  });
}
