/**
 * A worker process that exits unasked is replaced at once; one whose replacements keep
 * dying before they are ready is restarted with an exponential back-off, capped, so a
 * broken deployment does not spin the machine.
 */
import { expect, it } from "vitest";
import { delayRespawn } from "../src/autoscale/queue-slot";

const backoff = { baseMs: 500, maxMs: 3_000 };

it("replaces at once, then doubles the wait per early exit in a row, up to the cap", () => {
  const slot = { earlyExits: 0, nextSpawnAt: 0 };
  const starting = { readyAt: null };
  const delays = Array.from({ length: 6 }, () => delayRespawn(slot, starting, backoff));
  expect(delays).toEqual([0, 500, 1_000, 2_000, 3_000, 3_000]);
  expect(slot.earlyExits).toBe(6);
  expect(slot.nextSpawnAt).toBeGreaterThanOrEqual(Date.now() + 3_000 - 50);
});

it("does not count a process that was ready as an early exit", () => {
  const slot = { earlyExits: 0, nextSpawnAt: 0 };
  expect(delayRespawn(slot, { readyAt: Date.now() }, backoff)).toBe(0);
  expect(delayRespawn(slot, { readyAt: Date.now() }, backoff)).toBe(0);
  expect(slot.earlyExits).toBe(0);
});
