import type { RedisClient } from "@oms/shared";
import { InventoryCode, InventoryScriptError } from "./codes";
import { defineInventoryScripts, parseReply } from "./scripts";

/** A client's checkout lock: one checkout per client at a time; only the owner may drop it. */
export async function releaseCheckoutLock(redis: RedisClient, lockKey: string, orderId: string): Promise<boolean> {
  const [code = -1] = parseReply(await defineInventoryScripts(redis).omsCheckoutUnlock(lockKey, orderId));
  if (code !== InventoryCode.OK && code !== InventoryCode.NOT_OWNER)
    throw new InventoryScriptError("checkout-unlock", code);
  return code === InventoryCode.OK;
}
