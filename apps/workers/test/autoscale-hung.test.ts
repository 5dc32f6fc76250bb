/** Which workers the supervisor judges hung, and that its own stall does not condemn them. */
import { afterEach, expect, it, vi } from "vitest";
import { hungWorkers, watchHeartbeats, type Heartbeating } from "../src/autoscale/hung";

afterEach(() => {
  vi.useRealTimers();
});

const proc = (p: Partial<Heartbeating>): Heartbeating => ({ readyAt: 1, retiringAt: null, lastBeatAt: 1_000, ...p });

it("judges only consuming, non-retiring processes that beat once and then fell silent beyond the bound", () => {
  const silent = proc({});
  const fresh = proc({ lastBeatAt: 9_500 });
  const neverBeat = proc({ lastBeatAt: null });
  const starting = proc({ readyAt: null });
  const retiring = proc({ retiringAt: 5_000 });
  expect(hungWorkers([silent, fresh, neverBeat, starting, retiring], 10_000, 3_000)).toEqual([silent]);
  expect(hungWorkers([silent], 4_000, 3_000)).toEqual([]);
});

it("reports a silent process once, and forgives silence while the supervisor itself was stalled", () => {
  vi.useFakeTimers({ now: 0 });
  const worker = proc({ lastBeatAt: 0 });
  const onHung = vi.fn();
  const stop = watchHeartbeats({ boundMs: 4_000, procs: () => [worker], onHung });

  // The supervisor's timer fires 20 s late (it was stopped): the beats it did not read are no evidence.
  vi.setSystemTime(20_000);
  vi.advanceTimersToNextTimer();
  expect(onHung).not.toHaveBeenCalled();
  expect(worker.lastBeatAt).toBeGreaterThanOrEqual(20_000);

  // Then a real silence beyond the bound, seen while the timer runs on time: reported once.
  vi.advanceTimersByTime(6_000);
  expect(onHung).toHaveBeenCalledTimes(1);
  expect(onHung.mock.calls[0]?.[0]).toBe(worker);
  vi.advanceTimersByTime(5_000);
  expect(onHung).toHaveBeenCalledTimes(1);
  stop();
});
