/**
 * knex's own log lines (a connection that cannot be acquired, a connection lost) go
 * through the structured logger: one JSON line each, with the error's message and no
 * stack frames, and nothing printed plain on the console.
 */
import { pino } from "pino";
import { afterEach, expect, it, vi } from "vitest";
import { createDb } from "../src/db";

afterEach(() => vi.restoreAllMocks());

it("logs a refused connection as one JSON line without stack frames, and prints nothing plain", async () => {
  const lines: string[] = [];
  const logger = pino({ level: "debug" }, { write: (line: string) => void lines.push(line) });
  const printed: string[] = [];
  for (const method of ["log", "warn", "error"] as const)
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => void printed.push(args.map(String).join(" ")));

  // Port 1: nothing listens there, so every connection is refused.
  const db = createDb("mysql://root@127.0.0.1:1/nowhere", 1, true, { logger });
  try {
    await expect(db.raw("SELECT 1")).rejects.toMatchObject({ code: "ECONNREFUSED" });
  } finally {
    await db.destroy();
  }

  expect(printed).toEqual([]);
  const records = lines.map((line) => JSON.parse(line) as { level: number; msg: string; component?: string });
  const acquire = records.filter((r) => r.msg.includes("Acquire connection error"));
  expect(acquire.length).toBeGreaterThan(0);
  for (const record of acquire) {
    expect(record).toMatchObject({ level: 40, component: "knex" });
    expect(record.msg).toContain("ECONNREFUSED");
  }
  for (const line of lines) {
    expect(line.trimEnd()).not.toContain("\n");
    expect(line).not.toMatch(/\bat .+:\d+:\d+/);
  }
});
