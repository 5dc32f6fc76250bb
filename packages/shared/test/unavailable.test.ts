/**
 * What counts as "the dependency is down" (a checkout then waits instead of spending an
 * attempt), checked against errors the real clients raise, and what does not.
 */
import { expect, it } from "vitest";
import { createDb, isDbUnavailable } from "../src/db";
import { Redis } from "ioredis";
import { isRedisUnavailable } from "../src/redis";

it("a refused MySQL connection and a server going away are unavailability; SQL errors are not", async () => {
  const db = createDb("mysql://root@127.0.0.1:1/nowhere", 1, true, { logger: silent() });
  const refused = await db.raw("SELECT 1").catch((err: unknown) => err);
  await db.destroy();
  expect(isDbUnavailable(refused)).toBe(true);
  for (const code of ["PROTOCOL_CONNECTION_LOST", "ER_SERVER_SHUTDOWN", "PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR", "EPIPE"])
    expect(isDbUnavailable(Object.assign(new Error(code), { code })), code).toBe(true);
  for (const code of ["ER_DUP_ENTRY", "ER_LOCK_DEADLOCK", "ER_PARSE_ERROR", undefined])
    expect(isDbUnavailable(Object.assign(new Error("sql"), { code })), String(code)).toBe(false);
  expect(isDbUnavailable(null)).toBe(false);
});

it("a closed or unconnected Redis is unavailability; a Redis command error is not", async () => {
  const quitted = new Redis("redis://127.0.0.1:6379", { connectionName: "unavailable-test" });
  await quitted.ping();
  await quitted.quit();
  const closed = await quitted.get("anything").catch((err: unknown) => err);
  expect(isRedisUnavailable(closed)).toBe(true);

  const never = new Redis("redis://127.0.0.1:6379", { lazyConnect: true, enableOfflineQueue: false });
  const offline = await never.get("anything").catch((err: unknown) => err);
  expect(isRedisUnavailable(offline)).toBe(true);
  never.disconnect();

  expect(isRedisUnavailable(new Error("WRONGTYPE Operation against a key holding the wrong kind of value"))).toBe(
    false,
  );
  expect(isRedisUnavailable(undefined)).toBe(false);
});

it("a Cluster or a failover between primaries is unavailability for now; a message merely mentioning one is not", () => {
  for (const message of [
    "CLUSTERDOWN The cluster is down",
    "TRYAGAIN Multiple keys request during rehashing of slot",
    "MOVED 15162 127.0.0.1:34113",
    "ASK 3999 127.0.0.1:6381",
    "READONLY You can't write against a read only replica.",
    "LOADING Redis is loading the dataset in memory",
    "Cluster isn't ready and enableOfflineQueue options is false",
    "Too many Cluster redirections. Last error: Error: Connection is closed.",
  ])
    expect(isRedisUnavailable(new Error(message)), message).toBe(true);
  expect(isRedisUnavailable(new Error("ERR unknown command 'MOVED'"))).toBe(false);
  expect(isRedisUnavailable(new Error("CROSSSLOT Keys in request don't hash to the same slot"))).toBe(false);
});

function silent() {
  return { child: () => silent(), debug() {}, warn() {}, error() {} } as unknown as NonNullable<
    Parameters<typeof createDb>[3]
  >["logger"];
}
