/**
 * A survivable failure (a lock release, a close while Redis is gone) is logged with its
 * cause and what it costs, and the caller goes on: no catch swallows one unseen.
 */
import { pino } from "pino";
import { expect, it } from "vitest";
import { createRedis } from "../src/redis";
import { logFailure } from "../src/logger";

it("logs a failed Redis call with its error and goes on with undefined", async () => {
  const lines: string[] = [];
  const logger = pino({ level: "debug" }, { write: (line: string) => void lines.push(line) });
  // Port 1: nothing listens there; with no offline queue the command fails at once.
  const redis = createRedis("redis://127.0.0.1:1", { name: "log-failure" });
  try {
    const result = await redis.del("lock").catch(logFailure(logger, "lock not released: it lapses by itself"));
    expect(result).toBeUndefined();
  } finally {
    redis.disconnect();
  }
  const records = lines.map((line) => JSON.parse(line) as { level: number; msg: string; err?: string });
  expect(records).toContainEqual(
    expect.objectContaining({ level: 40, msg: "lock not released: it lapses by itself", err: expect.any(String) }),
  );
});

it("logs at debug when asked, for failures expected while shutting down", async () => {
  const lines: string[] = [];
  const logger = pino({ level: "debug" }, { write: (line: string) => void lines.push(line) });
  await Promise.reject(new Error("connection closed")).catch(logFailure(logger, "queue not closed", "debug"));
  expect(lines.map((line) => JSON.parse(line) as unknown)).toEqual([
    expect.objectContaining({ level: 20, msg: "queue not closed", err: "connection closed" }),
  ]);
});
