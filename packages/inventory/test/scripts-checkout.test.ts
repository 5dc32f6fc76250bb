/**
 * checkout-unlock-1.lua called directly (see scripts-fixture.ts), and the engine's
 * cartShortfall: only the owning order drops a checkout lock, and the shortfall check
 * names the first line the cached levels cannot cover, reading and writing nothing else.
 */
import { describe, expect, test } from "vitest";
import { InventoryCode as C, InventoryEngine } from "@oms/inventory";
import { noTruth } from "./support";
import { checkoutUnlock } from "./scripts-calls";
import { env, keys, redis, setUpScripts } from "./scripts-fixture";
import { setStock, stock } from "./scripts-state";

setUpScripts();

describe("checkout-unlock-1.lua", () => {
  test("the owning order drops the lock", async () => {
    await redis.set(env.keys.checkoutLock("u1-client"), "u1-order");
    expect(await checkoutUnlock("u1-client", "u1-order")).toEqual([C.OK]);
    expect(await redis.exists(env.keys.checkoutLock("u1-client"))).toBe(0);
  });

  test("another order answers NOT_OWNER and the lock stays with its owner", async () => {
    await redis.set(env.keys.checkoutLock("u2-client"), "u2-newer", "PX", 60_000);
    expect(await checkoutUnlock("u2-client", "u2-older")).toEqual([C.NOT_OWNER]);
    expect(await redis.get(env.keys.checkoutLock("u2-client"))).toBe("u2-newer");
    expect(await redis.pttl(env.keys.checkoutLock("u2-client"))).toBeGreaterThan(0);
  });

  test("a lock already gone answers OK (replay) and nothing is created", async () => {
    expect(await checkoutUnlock("u3-client", "u3-order")).toEqual([C.OK]);
    expect(await checkoutUnlock("u3-client", "u3-order")).toEqual([C.OK]);
    expect(await redis.exists(env.keys.checkoutLock("u3-client"))).toBe(0);
  });
});

// Not a script any more: the cart copy, the lock and the levels live in different cluster slots.
describe("engine.cartShortfall", () => {
  /** The edited mark the API passes (an empty field name: no product id can be it). */
  const EDITED = "";
  const engine = () => new InventoryEngine(env.redis, env.keys, noTruth);
  const cartShortfall = async (clientId: string) => {
    const short = await engine().cartShortfall(env.keys.cartMirror(clientId), env.keys.checkoutLock(clientId), EDITED);
    return short ? [C.INSUFFICIENT_STOCK, short.productId, short.available, short.edited ? 1 : 0] : [C.OK];
  };

  test("answers the first line the cached level cannot cover, with the level (never below 0)", async () => {
    await setStock({ "cs1-a": 5, "cs1-b": 1, "cs1-c": -2 });
    await redis.hset(env.keys.cartMirror("cs1"), "cs1-a", 5, "cs1-b", 2);
    expect(await cartShortfall("cs1")).toEqual([C.INSUFFICIENT_STOCK, "cs1-b", 1, 0]);
    await redis.hset(env.keys.cartMirror("cs1n"), "cs1-c", 1);
    expect(await cartShortfall("cs1n")).toEqual([C.INSUFFICIENT_STOCK, "cs1-c", 0, 0]);
  });

  test("a cart every cached level covers, an uncached product, or no cart copy answers OK", async () => {
    await setStock({ "cs2-a": 3 });
    await redis.hset(env.keys.cartMirror("cs2"), "cs2-a", 3, "cs2-uncached", 1_000);
    expect(await cartShortfall("cs2")).toEqual([C.OK]);
    expect(await cartShortfall("cs2-nobody")).toEqual([C.OK]);
  });

  test("while the client's checkout lock is held, answers OK whatever the levels (the request joins that checkout)", async () => {
    await setStock({ "cs4-a": 0 });
    await redis.hset(env.keys.cartMirror("cs4"), "cs4-a", 1);
    await redis.set(env.keys.checkoutLock("cs4"), "cs4-order", "PX", 60_000);
    expect(await cartShortfall("cs4")).toEqual([C.OK]);
    await redis.del(env.keys.checkoutLock("cs4"));
    expect(await cartShortfall("cs4")).toEqual([C.INSUFFICIENT_STOCK, "cs4-a", 0, 0]);
  });

  test("the edited mark is no line, and a shortfall says whether the copy carries it", async () => {
    await setStock({ "cs5-a": 1 });
    await redis.hset(env.keys.cartMirror("cs5"), EDITED, 1, "cs5-a", 1);
    expect(await cartShortfall("cs5")).toEqual([C.OK]);
    await redis.hset(env.keys.cartMirror("cs5"), "cs5-a", 2);
    expect(await cartShortfall("cs5")).toEqual([C.INSUFFICIENT_STOCK, "cs5-a", 1, 1]);
    // Another client's copy without the mark: its shortfall is not marked edited.
    await redis.hset(env.keys.cartMirror("cs5u"), "cs5-a", 2);
    expect(await cartShortfall("cs5u")).toEqual([C.INSUFFICIENT_STOCK, "cs5-a", 1, 0]);
  });

  test("reads and writes nothing else: levels and the cart copy are unchanged, and no key is created", async () => {
    await setStock({ "cs3-a": 0 });
    await redis.hset(env.keys.cartMirror("cs3"), "cs3-a", 1, "cs3-uncached", 1);
    expect(await cartShortfall("cs3")).toEqual([C.INSUFFICIENT_STOCK, "cs3-a", 0, 0]);
    expect(await stock("cs3-a")).toEqual([0]);
    expect(await redis.exists(keys.stock("cs3-uncached"))).toBe(0);
    expect(await redis.hgetall(env.keys.cartMirror("cs3"))).toEqual({ "cs3-a": "1", "cs3-uncached": "1" });
  });
});
