import { randomUUID } from "node:crypto";
import type { RedisClient } from "@oms/shared";
import { InventoryCode } from "./codes";
import { defineInventoryScripts, parseReply } from "./scripts";

/**
 * A lock held by one process for a piece of work of unknown length (the recovery after
 * Redis lost its data). Its time to live is short and renewed while the holder runs, so
 * a holder that dies or freezes gives it up within one `ttlMs`, not after the longest
 * the work could ever take.
 */
export class Lease {
  private readonly renewal: NodeJS.Timeout;
  private lost = false;

  private constructor(
    private readonly redis: RedisClient,
    readonly key: string,
    readonly token: string,
    private readonly ttlMs: number,
  ) {
    // A renewal Redis cannot answer is tried again a third of the TTL later; if the lease
    // lapses meanwhile, that renewal finds it lost and the holder's own end says so.
    this.renewal = setInterval(() => void this.renew().catch(() => undefined), Math.max(1, Math.floor(ttlMs / 3)));
    this.renewal.unref();
  }

  /** Takes the lease if nobody holds it; undefined when another process does. */
  static async take(redis: RedisClient, key: string, ttlMs: number): Promise<Lease | undefined> {
    const token = randomUUID();
    if (!(await redis.set(key, token, "PX", ttlMs, "NX"))) return undefined;
    return new Lease(redis, key, token, ttlMs);
  }

  /** Extends the lease; false, from then on, once it was lost to expiry or to another holder. */
  async renew(): Promise<boolean> {
    if (this.lost) return false;
    const [code] = parseReply(
      await defineInventoryScripts(this.redis).omsLease(this.key, this.token, "extend", this.ttlMs),
    );
    if (code !== InventoryCode.OK) this.lost = true;
    return !this.lost;
  }

  /** Stops renewing, for a holder that ends the lease with a script of its own. */
  stopRenewing(): void {
    clearInterval(this.renewal);
  }

  /**
   * Sets `epochKey` to `value` and frees the lease, in one step, only if the lease is
   * still this holder's; false when it was lost (the successor finishes instead).
   */
  async finishRecovery(epochKey: string, value: string): Promise<boolean> {
    this.stopRenewing();
    const [code] = parseReply(
      await defineInventoryScripts(this.redis).omsRecoveryFinish(this.key, epochKey, this.token, value),
    );
    this.lost = true;
    return code === InventoryCode.OK;
  }

  /** Stops renewing and deletes the lease, only if it is still this holder's. */
  async release(): Promise<void> {
    this.stopRenewing();
    if (this.lost) return;
    this.lost = true;
    await defineInventoryScripts(this.redis).omsLease(this.key, this.token, "release");
  }
}
