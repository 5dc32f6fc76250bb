/** The autoscaler's pure decision function, and the parsing of its settings. */
import { describe, expect, it } from "vitest";
import { ConfigError, loadAutoscalerConfig } from "@oms/shared";
import {
  decide,
  initialState,
  parseWorkerLimits,
  recommend,
  type DecisionInput,
  type ScalerState,
} from "../src/autoscale/decision";
import { waitingSince } from "../src/autoscale/supervisor";

const policy = { targetBacklog: 10, maxWaitMs: 1_000, cooldownMs: 5_000 };
const limits = { min: 1, max: 4 };

function input(over: Partial<DecisionInput> & { backlog?: number; oldestWaitMs?: number }): DecisionInput {
  const { backlog = 0, oldestWaitMs = 0, ...rest } = over;
  return {
    now: 100_000,
    observation: { backlog, oldestWaitMs },
    ready: rest.state?.desired ?? 1,
    state: initialState(limits),
    limits,
    policy,
    ...rest,
  };
}

const at = (desired: number): ScalerState => ({ desired, lowSince: null, lowPeak: desired });

describe("recommend", () => {
  it("asks for ceil(backlog / target) processes, within the limits", () => {
    expect(recommend({ backlog: 0, oldestWaitMs: 0 }, 1, 1, limits, policy).count).toBe(1);
    expect(recommend({ backlog: 10, oldestWaitMs: 0 }, 1, 1, limits, policy).count).toBe(1);
    expect(recommend({ backlog: 11, oldestWaitMs: 0 }, 1, 1, limits, policy).count).toBe(2);
    expect(recommend({ backlog: 35, oldestWaitMs: 0 }, 1, 1, limits, policy).count).toBe(4);
    expect(recommend({ backlog: 10_000, oldestWaitMs: 0 }, 1, 1, limits, policy).count).toBe(4);
    expect(recommend({ backlog: 0, oldestWaitMs: 0 }, 0, 0, { min: 0, max: 3 }, policy).count).toBe(0);
    expect(recommend({ backlog: 0, oldestWaitMs: 0 }, 0, 0, { min: 2, max: 3 }, policy).count).toBe(2);
  });

  it("asks for one more than are consuming when the oldest job waited too long", () => {
    const slow = { backlog: 3, oldestWaitMs: 1_001 };
    expect(recommend(slow, 2, 2, limits, policy).count).toBe(3);
    expect(recommend({ ...slow, oldestWaitMs: 1_000 }, 2, 2, limits, policy).count).toBe(1);
    // Two of three are still starting: no further growth on wait time alone.
    expect(recommend(slow, 1, 3, limits, policy).count).toBe(2);
    // From zero processes, a waiting job brings the first one.
    expect(recommend(slow, 0, 0, { min: 0, max: 2 }, policy).count).toBe(1);
    expect(recommend(slow, 4, 4, limits, policy).count).toBe(4);
  });

  it("says why", () => {
    const { reason } = recommend({ backlog: 3, oldestWaitMs: 2_500 }, 1, 1, limits, policy);
    expect(reason).toContain("backlog 3 / 10 per process = 1");
    expect(reason).toContain("oldest job waited 2.5 s > 1.0 s: 2");
    expect(recommend({ backlog: 900, oldestWaitMs: 0 }, 1, 1, limits, policy).reason).toContain("limits 1..4");
  });
});

describe("decide", () => {
  it("grows at once, straight to what the backlog needs", () => {
    const d = decide(input({ backlog: 31 }));
    expect(d).toMatchObject({ action: "up", desired: 4, recommended: 4 });
    expect(d.state).toEqual({ desired: 4, lowSince: null, lowPeak: 4 });
  });

  it("holds while the need matches", () => {
    const d = decide(input({ backlog: 15, state: at(2) }));
    expect(d).toMatchObject({ action: "hold", desired: 2 });
    expect(d.state.lowSince).toBeNull();
  });

  it("shrinks only after wanting fewer for a whole cool-down, to the most it wanted meanwhile", () => {
    let state = at(4);
    const step = (now: number, backlog: number) => {
      const d = decide(input({ now, backlog, state, ready: 4 }));
      state = d.state;
      return d;
    };
    expect(step(0, 25)).toMatchObject({ action: "hold", desired: 4, recommended: 3 });
    expect(state).toEqual({ desired: 4, lowSince: 0, lowPeak: 3 });
    expect(step(2_000, 5)).toMatchObject({ action: "hold", desired: 4, recommended: 1 });
    expect(step(4_999, 0).action).toBe("hold");
    const down = step(5_000, 0);
    expect(down).toMatchObject({ action: "down", desired: 3, recommended: 1 });
    expect(down.reason).toContain("cool-down 5.0 s");
    // A new window starts: the remaining processes wait a full cool-down again.
    expect(state).toEqual({ desired: 3, lowSince: null, lowPeak: 3 });
    expect(step(6_000, 0).action).toBe("hold");
    expect(step(10_999, 0).action).toBe("hold");
    expect(step(11_000, 0)).toMatchObject({ action: "down", desired: 1 });
  });

  it("restarts the cool-down when the need comes back", () => {
    let state = at(3);
    const step = (now: number, backlog: number) => {
      const d = decide(input({ now, backlog, state, ready: 3 }));
      state = d.state;
      return d;
    };
    step(0, 0);
    step(4_000, 0);
    expect(step(4_500, 30).action).toBe("hold"); // needs 3 again: the window closes
    expect(state.lowSince).toBeNull();
    expect(step(5_000, 0).action).toBe("hold");
    expect(step(9_999, 0).action).toBe("hold");
    expect(step(10_000, 0)).toMatchObject({ action: "down", desired: 1 });
  });

  it("a burst during the cool-down grows at once", () => {
    const cooling: ScalerState = { desired: 2, lowSince: 0, lowPeak: 1 };
    expect(decide(input({ now: 4_000, backlog: 40, state: cooling }))).toMatchObject({ action: "up", desired: 4 });
  });

  it("never leaves the limits, even when the state is outside them", () => {
    expect(decide(input({ backlog: 0, state: at(0) }))).toMatchObject({ action: "up", desired: 1 });
    const tooMany = decide(input({ now: 0, backlog: 1_000, state: { desired: 6, lowSince: null, lowPeak: 6 } }));
    expect(tooMany).toMatchObject({ action: "hold", desired: 6, recommended: 4 });
    expect(
      decide(input({ now: 5_000, backlog: 1_000, state: tooMany.state, limits: { min: 1, max: 4 } })),
    ).toMatchObject({ action: "down", desired: 4 });
  });

  it("with no cool-down, shrinks on the first low measurement", () => {
    const d = decide(input({ backlog: 0, state: at(3), policy: { ...policy, cooldownMs: 0 } }));
    expect(d).toMatchObject({ action: "down", desired: 1 });
  });
});

describe("settings", () => {
  it("parses AUTOSCALE_WORKERS", () => {
    expect([...parseWorkerLimits("cart=1:2,checkout=0:8")]).toEqual([
      ["cart", { min: 1, max: 2 }],
      ["checkout", { min: 0, max: 8 }],
    ]);
    expect(() => parseWorkerLimits("orders=1:2")).toThrow(/orders=1:2/);
  });

  it("the autoscaler's config schema validates its settings with a message per setting", () => {
    const config = loadAutoscalerConfig({});
    expect(parseWorkerLimits(config.AUTOSCALE_WORKERS).get("checkout")).toEqual({ min: 1, max: 4 });
    expect(config.AUTOSCALE_COOLDOWN_MS).toBe(60_000);
    const bad = (env: Record<string, string>) => {
      try {
        loadAutoscalerConfig(env);
      } catch (err) {
        if (err instanceof ConfigError) return err.problems.join("\n");
        throw err;
      }
      throw new Error(`accepted ${JSON.stringify(env)}`);
    };
    expect(bad({ AUTOSCALE_WORKERS: "checkout=3:2" })).toMatch(/AUTOSCALE_WORKERS: .*min <= max/);
    expect(bad({ AUTOSCALE_WORKERS: "checkout=1:2,checkout=1:3" })).toMatch(/AUTOSCALE_WORKERS: names a queue twice/);
    expect(bad({ AUTOSCALE_WORKERS: "payments=1:2" })).toMatch(/AUTOSCALE_WORKERS: must be queue=min:max/);
    expect(bad({ AUTOSCALE_TARGET_BACKLOG: "0" })).toMatch(/AUTOSCALE_TARGET_BACKLOG/);
    expect(bad({ AUTOSCALE_POLL_INTERVAL_MS: "10" })).toMatch(/AUTOSCALE_POLL_INTERVAL_MS/);
    expect(bad({ AUTOSCALE_OBSERVE_ONLY: "maybe" })).toMatch(/AUTOSCALE_OBSERVE_ONLY/);
  });
});

describe("waitingSince", () => {
  it("is the creation time, plus a delay, or the last start of a retried job", () => {
    expect(waitingSince({ timestamp: 1_000, delay: 0, processedOn: undefined })).toBe(1_000);
    expect(waitingSince({ timestamp: 1_000, delay: 500, processedOn: undefined })).toBe(1_500);
    expect(waitingSince({ timestamp: 1_000, delay: 500, processedOn: 9_000 })).toBe(9_000);
  });
});
