/**
 * begin-commit-2.lua and commit-3.lua called directly (see scripts-fixture.ts), and the
 * held hash across every script: available + held per product stays put through
 * reserve, replays, begin-commit, release and expiry, and only commit lowers it.
 */
import { describe, expect, test } from "vitest";
import { InventoryCode as C } from "@oms/inventory";
import { beginCommit, commit, type Line, release, reserve } from "./scripts-calls";
import { keys, NOW, redis, RETENTION, setUpScripts, TTL } from "./scripts-fixture";
import { expiryScore, held, holdExists, holdHash, setStock, stock, total } from "./scripts-state";

setUpScripts();

describe("begin-commit-2.lua and commit-3.lua", () => {
  test("begin-commit marks the hold committing, moves it to +inf in the expiry set (live, never expires), keeps its stock, and replays", async () => {
    await setStock({ "c1-a": 10 });
    await reserve("c1", [["c1-a", 4]]);

    expect(await beginCommit("c1")).toEqual([C.OK]);
    expect(await beginCommit("c1")).toEqual([C.OK]);

    expect((await holdHash("c1")).state).toBe("committing");
    expect(await expiryScore("c1")).toBe("inf");
    expect(await stock("c1-a")).toEqual([6]);
    // Still held: begin-commit only stops expiry, the units are not sold yet.
    expect(await held("c1-a")).toEqual([4]);
    expect(await redis.pttl(keys.hold("c1"))).toBe(-1);
  });

  test("commit after begin-commit marks it committed with a retention TTL, ends its held units; replays answer OK; stock stays sold", async () => {
    await setStock({ "c2-a": 10 });
    await reserve("c2", [["c2-a", 4]]);
    await beginCommit("c2");
    expect(await total("c2-a")).toEqual([10]);

    expect(await commit("c2")).toEqual([C.OK]);
    expect(await commit("c2")).toEqual([C.OK]);
    expect(await beginCommit("c2")).toEqual([C.OK]);

    expect((await holdHash("c2")).state).toBe("committed");
    expect(await expiryScore("c2")).toBeNull();
    expect(await stock("c2-a")).toEqual([6]);
    expect(await held("c2-a")).toEqual([null]);
    // The 4 committed units are gone from available + held for good.
    expect(await total("c2-a")).toEqual([6]);
    const pttl = await redis.pttl(keys.hold("c2"));
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(RETENTION);
  });

  test("commit straight from held also ends the hold", async () => {
    await setStock({ "c3-a": 10 });
    await reserve("c3", [["c3-a", 1]]);
    expect(await commit("c3")).toEqual([C.OK]);
    expect((await holdHash("c3")).state).toBe("committed");
    expect(await expiryScore("c3")).toBeNull();
    expect(await held("c3-a")).toEqual([null]);
  });

  test("commit takes only its own units off the held count, once, however often it is replayed", async () => {
    await setStock({ "c6-a": 10, "c6-b": 10 });
    await reserve("c6-1", [
      ["c6-a", 2],
      ["c6-b", 1],
    ]);
    await reserve("c6-2", [["c6-a", 3]]);

    expect(await commit("c6-1")).toEqual([C.OK]);
    expect(await held("c6-a", "c6-b")).toEqual([3, null]);
    for (let i = 0; i < 3; i++) expect(await commit("c6-1")).toEqual([C.OK]);
    expect(await beginCommit("c6-1")).toEqual([C.OK]);
    expect(await held("c6-a", "c6-b")).toEqual([3, null]);

    expect(await total("c6-a", "c6-b")).toEqual([8, 9]);
  });

  test("begin-commit and commit of an unknown hold answer HOLD_NOT_FOUND and create nothing", async () => {
    const heldBefore = await redis.hgetall(keys.held());
    expect(await beginCommit("c4-unknown")).toEqual([C.HOLD_NOT_FOUND]);
    expect(await commit("c4-unknown")).toEqual([C.HOLD_NOT_FOUND]);
    expect(await holdExists("c4-unknown")).toBe(false);
    expect(await redis.hgetall(keys.held())).toEqual(heldBefore);
  });

  test("begin-commit and commit of a released hold answer HOLD_RELEASED and leave it released", async () => {
    await setStock({ "c5-a": 10 });
    await reserve("c5", [["c5-a", 2]]);
    await release("c5", ["c5-a"]);

    expect(await beginCommit("c5")).toEqual([C.HOLD_RELEASED]);
    expect(await commit("c5")).toEqual([C.HOLD_RELEASED]);

    expect((await holdHash("c5")).state).toBe("released");
    expect(await stock("c5-a")).toEqual([10]);
    expect(await held("c5-a")).toEqual([null]);
  });
});

describe("the held hash across every script: available + held per product", () => {
  test("stays at the initial level through reserve, replays, begin-commit, release and expiry; only commit lowers it, by the committed units", async () => {
    await setStock({ "w-a": 20, "w-b": 10 });
    const both = ["w-a", "w-b"];
    type Step = [
      label: string,
      run: () => Promise<unknown>,
      reply: number[],
      held: Array<number | null>,
      total: number[],
    ];
    const w1: Line[] = [
      ["w-a", 2],
      ["w-b", 1],
    ];
    const w3: Line[] = [
      ["w-a", 1],
      ["w-b", 9],
    ];
    const w4: Line[] = [
      ["w-a", 1],
      ["w-b", 1],
    ];
    const steps: Step[] = [
      ["reserve w1", () => reserve("w1", w1), [C.OK, 0, 0, 0], [2, 1], [20, 10]],
      ["reserve w2", () => reserve("w2", [["w-a", 5]]), [C.OK, 0, 0, 0], [7, 1], [20, 10]],
      ["replay w1", () => reserve("w1", w1), [C.OK, 0, 0, 1], [7, 1], [20, 10]],
      ["reserve w3", () => reserve("w3", w3), [C.OK, 0, 0, 0], [8, 10], [20, 10]],
      ["short w4", () => reserve("w4", w4), [C.INSUFFICIENT_STOCK, 2, 0, 0], [8, 10], [20, 10]],
      ["begin-commit w2", () => beginCommit("w2"), [C.OK], [8, 10], [20, 10]],
      ["replay begin-commit w2", () => beginCommit("w2"), [C.OK], [8, 10], [20, 10]],
      ["release w1", () => release("w1", both), [C.OK, 0], [6, 9], [20, 10]],
      ["replay release w1", () => release("w1", both), [C.OK, 1], [6, 9], [20, 10]],
      ["early expiry of w3", () => release("w3", both, "expired", NOW + TTL - 1), [C.NOT_EXPIRED, 0], [6, 9], [20, 10]],
      ["expiry of w3", () => release("w3", both, "expired", NOW + TTL), [C.OK, 0], [5, null], [20, 10]],
      [
        "expiry of paying w2",
        () => release("w2", ["w-a"], "expired", NOW + TTL),
        [C.NOT_EXPIRED, 0],
        [5, null],
        [20, 10],
      ],
      ["commit w2", () => commit("w2"), [C.OK], [null, null], [15, 10]],
      ["replay commit w2", () => commit("w2"), [C.OK], [null, null], [15, 10]],
      ["release committed w2", () => release("w2", ["w-a"]), [C.HOLD_COMMITTED, 0], [null, null], [15, 10]],
      ["replay reserve w2", () => reserve("w2", [["w-a", 5]]), [C.OK, 0, 0, 1], [null, null], [15, 10]],
      ["reserve w1 again", () => reserve("w1", [["w-a", 1]]), [C.HOLD_RELEASED, 0, 0, 1], [null, null], [15, 10]],
      ["reserve w5", () => reserve("w5", [["w-b", 4]]), [C.OK, 0, 0, 0], [null, 4], [15, 10]],
      ["commit w5 from held", () => commit("w5"), [C.OK], [null, null], [15, 6]],
    ];
    for (const [label, run, reply, units, sum] of steps) {
      expect(await run(), label).toEqual(reply);
      expect(await held(...both), label).toEqual(units);
      expect(await total(...both), label).toEqual(sum);
    }
    expect(await stock(...both)).toEqual([15, 6]);
  });
});
