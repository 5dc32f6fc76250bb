/**
 * Every key of one deployment must hash to one Redis Cluster slot, or a Lua script
 * touching several of them (and BullMQ's own scripts) would fail with CROSSSLOT.
 * The slot rule is implemented here from the spec and cross-checked against the
 * `cluster-key-slot` package that ioredis itself uses.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import calculateSlot from "cluster-key-slot";
import { QueueKeys } from "bullmq";
import { QUEUE_NAMES, keyspace } from "@oms/shared";
import { createTestEnv, type TestEnv } from "../../../test/support/env";

// --- the Redis Cluster key-slot rule, from the spec --------------------------

/** CRC16/XMODEM: polynomial 0x1021, initial value 0, no reflection, no final xor. */
function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) {
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    }
  }
  return crc;
}

const OPEN = 0x7b; // {
const CLOSE = 0x7d; // }

/**
 * HASH_SLOT = CRC16(key) mod 16384, where only the hash tag is hashed when the key has
 * one: the bytes between the first "{" and the first "}" after it, if non-empty.
 */
function keySlot(key: string): number {
  const bytes = Buffer.from(key, "utf8");
  const open = bytes.indexOf(OPEN);
  if (open !== -1) {
    const close = bytes.indexOf(CLOSE, open + 1);
    if (close > open + 1) return crc16(bytes.subarray(open + 1, close)) % 16384;
  }
  return crc16(bytes) % 16384;
}

// -----------------------------------------------------------------------------

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv();
});
afterAll(async () => env?.close());

/** Ids a client could send, including ones that try to open or close a hash tag. */
const HOSTILE_IDS = ["p1", "{", "}", "{}", "}{", "{evil}", "a{b}c", "}x{y}", "{{nested}}", "ü{ñ}😀", "with:colons", ""];

/** A deterministic stream of awkward strings (braces are over-represented). */
function* randomKeys(count: number): Generator<string> {
  const alphabet = ["{", "}", "{", "}", "a", "b", ":", "-", "0", "é", "😀", " "];
  let seed = 42;
  const next = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed;
  };
  for (let i = 0; i < count; i++) {
    const length = next() % 12;
    let s = "";
    for (let j = 0; j < length; j++) s += alphabet[next() % alphabet.length];
    yield s;
  }
}

describe("the key-slot implementation", () => {
  test("CRC16 is XMODEM: its check value for '123456789' is 0x31C3", () => {
    expect(crc16(Buffer.from("123456789"))).toBe(0x31c3);
  });

  test("matches the slots published in the Redis documentation", () => {
    expect(keySlot("somekey")).toBe(11058);
    expect(keySlot("foo{hash_tag}")).toBe(2515);
    expect(keySlot("foo")).toBe(12182);
  });

  test("applies the hash-tag rule's edge cases like the spec says", () => {
    expect(keySlot("{user1000}.following")).toBe(keySlot("user1000"));
    expect(keySlot("{user1000}.followers")).toBe(keySlot("{user1000}.following"));
    expect(keySlot("foo{}{bar}")).toBe(crc16(Buffer.from("foo{}{bar}")) % 16384); // empty tag: whole key
    expect(keySlot("foo{{bar}}zap")).toBe(keySlot("{bar")); // tag is "{bar"
    expect(keySlot("foo{bar}{zap}")).toBe(keySlot("bar")); // first tag only
    expect(keySlot("no}tag{here")).toBe(crc16(Buffer.from("no}tag{here")) % 16384);
  });

  test("agrees with the cluster-key-slot package on named edge cases and 5000 awkward strings", () => {
    const named = ["", "{", "}", "{}", "{a", "a}", "}{", "{}x", "foo{{bar}}zap", "foo{bar}{zap}", "ключ{é}", "{😀}x"];
    // cluster-key-slot 1.1.x deviates from Redis on one shape: when the first "{" is
    // immediately closed ("foo{}{bar}"), Redis hashes the whole key but the package keeps
    // scanning and hashes "{bar". Such keys are checked against the spec above instead.
    const emptyFirstTag = (key: string) => {
      const open = key.indexOf("{");
      return open !== -1 && key[open + 1] === "}" && key.indexOf("}", open + 2) !== -1;
    };
    const keys = [...named, ...HOSTILE_IDS, ...randomKeys(5000)].filter((k) => !emptyFirstTag(k));
    expect(keys.length).toBeGreaterThan(4000);
    for (const key of keys) {
      expect(keySlot(key), JSON.stringify(key)).toBe(calculateSlot(key));
    }
  });
});

describe("the application keyspace", () => {
  /** Every key the application and BullMQ use for one prefix. */
  function allKeys(prefix: string): string[] {
    const keys = keyspace(prefix);
    const queueKeys = new QueueKeys(keys.queuePrefix);
    const bull = Object.values(QUEUE_NAMES).flatMap((queue) => [
      `${keys.queuePrefix}:${queue}:wait`,
      ...Object.values(queueKeys.getKeys(queue)),
      ...HOSTILE_IDS.map((jobId) => queueKeys.toKey(queue, jobId)),
    ]);
    // Every member of keyspace(): fixed keys as they are, key builders with each hostile id
    // (so a key added to keyspace() later is covered without touching this test).
    const own = Object.entries(keys)
      .filter(([name]) => name !== "queuePrefix")
      .flatMap(([, member]) =>
        typeof member === "function" ? HOSTILE_IDS.map((id) => (member as (id: string) => string)(id)) : [member],
      );
    return [...own, ...bull];
  }

  test("the key list covers every named key pattern", () => {
    const keys = keyspace("oms");
    const all = allKeys("oms");
    for (const key of [
      keys.holdExpiries,
      keys.held,
      keys.epoch,
      keys.stock("{evil}"),
      keys.hold("}x{y}"),
      keys.checkoutLock("{"),
    ]) {
      expect(all).toContain(key);
    }
    expect(all).toContain("{oms}:checkout:wait");
    expect(all).toContain("{oms}:inventory:{evil}");
  });

  test("the test env's keys are the keyspace of its prefix, tagged with {prefix}", () => {
    const prefix = env.config.REDIS_PREFIX;
    expect(env.keys.queuePrefix).toBe(`{${prefix}}`);
    expect(env.keys.stock("p1")).toBe(keyspace(prefix).stock("p1"));
    expect(env.keys.stock("p1").startsWith(`{${prefix}}:`)).toBe(true);
  });

  function expectOneSlot(prefix: string): void {
    const keys = allKeys(prefix);
    expect(keys).toContain(`{${prefix}}:checkout:wait`);
    expect(keys.length).toBeGreaterThan(80);

    const slots = new Set(keys.map(keySlot));
    expect([...slots]).toEqual([keySlot(prefix)]);
    expect(calculateSlot.generateMulti(keys)).toBe(keySlot(prefix));
  }

  test.each(["oms", "a", "shop-eu.1_x", "t0123456789"])(
    "every key under prefix %s, including ids with braces, maps to the slot of the bare prefix",
    (prefix) => expectOneSlot(prefix),
  );

  test("so does every key under this test env's own prefix", () => {
    expectOneSlot(env.config.REDIS_PREFIX);
  });

  test("the hash tag is what keeps them together: the same keys without braces spread over several slots", () => {
    const untagged = allKeys("oms").map((key) => key.replace("{oms}", "oms"));
    expect(new Set(untagged.map(keySlot)).size).toBeGreaterThan(1);
    expect(calculateSlot.generateMulti(untagged)).toBe(-1);
  });
});
