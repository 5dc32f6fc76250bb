import { InventoryCode, InventoryScriptError } from "./codes";
import { parseReply, type InventoryCommands } from "./scripts";
import type { InventoryKeys, ReconcileResult, TruthSource } from "./types";
import type { RedisClient } from "@oms/shared";

/**
 * Compares many cached levels with MySQL: one truth query for the lot, one script call
 * per product (in its shard), sent together. Only the products that drifted are looked
 * at again after `settleMs` and repaired if the drift is still the same (a change in
 * flight between MySQL and Redis is not drift).
 */
export async function reconcileLevels(
  redis: RedisClient & InventoryCommands,
  keys: InventoryKeys,
  truth: TruthSource,
  productIds: string[],
  settleMs: number,
): Promise<ReconcileResult[]> {
  const look = async (ids: string[], mode: "check" | "repair", expected: Map<string, number>) => {
    const levels = await truth(ids);
    const replies = await Promise.all(
      ids.map(async (productId) => {
        const level = levels.get(productId);
        if (level === undefined) return null;
        const [code = -1, drift = 0, repaired = 0] = parseReply(
          await redis.omsReconcile(
            keys.stock(productId),
            keys.held(keys.shardOf(productId)),
            keys.stockChanges(productId),
            productId,
            level,
            mode,
            expected.get(productId) ?? 0,
          ),
        );
        if (code === InventoryCode.NOT_LOADED) return null;
        if (code !== InventoryCode.OK) throw new InventoryScriptError("reconcile", code);
        return { drift, repaired: repaired === 1 };
      }),
    );
    return new Map(ids.map((id, i) => [id, replies[i] ?? null]));
  };
  const first = await look(productIds, "check", new Map());
  const drifted = productIds.filter((id) => (first.get(id)?.drift ?? 0) !== 0);
  let second = new Map<string, { drift: number; repaired: boolean } | null>();
  if (drifted.length > 0) {
    await new Promise((r) => setTimeout(r, settleMs));
    second = await look(drifted, "repair", new Map(drifted.map((id) => [id, first.get(id)?.drift ?? 0])));
  }
  return productIds.map((productId) => {
    const checked = first.get(productId);
    if (!checked) return { productId, drift: null, repaired: false };
    if (checked.drift === 0) return { productId, drift: 0, repaired: false };
    const again = second.get(productId);
    return { productId, drift: again?.drift ?? null, repaired: again?.repaired ?? false };
  });
}
