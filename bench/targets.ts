/** The targets, as ratios from one run, each PASS or FAIL. */
import { phaseCost } from "./cost";
import { round } from "./stats";
import type { BenchResult, DesignId, PhaseResult, ScenarioId, ScenarioRun, TargetResult } from "./types";

export function findRun(runs: ScenarioRun[], scenario: ScenarioId, design: DesignId): ScenarioRun | undefined {
  return runs.find((r) => r.scenario === scenario && r.design === design);
}

export function phaseOf(run: ScenarioRun | undefined, suffix: string): PhaseResult | undefined {
  return run?.phases.find((p) => p.name.endsWith(` ${suffix}`));
}

function target(
  name: string,
  a: number | undefined,
  b: number | undefined,
  threshold: number,
  direction: ">=" | "<=",
  detail: (ratio: number) => string,
): TargetResult {
  if (a === undefined || b === undefined || b === 0) {
    return { name, ratio: null, threshold, direction, pass: null, detail: "not measured in this run" };
  }
  const ratio = round(a / b, 2);
  return {
    name,
    ratio,
    threshold,
    direction,
    pass: direction === ">=" ? ratio >= threshold : ratio <= threshold,
    detail: detail(ratio),
  };
}

export function evaluateTargets(result: Pick<BenchResult, "runs" | "settings">): TargetResult[] {
  const { runs } = result;
  const sale = (d: DesignId) => phaseOf(findRun(runs, "flash-sale", d), "checkout")?.saleWindow?.completedPerSecond;
  const hot3 = (d: DesignId) => phaseOf(findRun(runs, "hot-3", d), "checkout")?.saleWindow?.completedPerSecond;
  const soldOut = findRun(runs, "flash-sale", "redis")?.soldOut;
  const widePhase = (d: DesignId) => phaseOf(findRun(runs, "wide-catalog", d), "checkout");
  const wide = (d: DesignId) => widePhase(d)?.latencyMs.p99;
  const wideRate = (d: DesignId) => widePhase(d)?.ordersCompleted?.perSecond ?? widePhase(d)?.okPerSecond;
  const wideCost = (d: DesignId) => {
    const p = widePhase(d);
    return p ? phaseCost(p) : null;
  };
  const adds = (d: DesignId) => phaseOf(findRun(runs, "add-only", d), "add")?.okPerSecond;
  const concurrency = String(result.settings.concurrency ?? "?");
  const fmt = (n: number | undefined, unit: string) => (n === undefined ? "?" : `${n} ${unit}`);
  return [
    target(
      "Flash sale: completed checkouts/s while stock lasts >= 80% of the no-op floor",
      sale("redis"),
      sale("noop"),
      0.8,
      ">=",
      () => `redis ${fmt(sale("redis"), "/s")} vs no-op floor ${fmt(sale("noop"), "/s")}`,
    ),
    target(
      "One hot product: completed checkouts/s >= 3x the classic design",
      sale("redis"),
      sale("mysql-locking"),
      3,
      ">=",
      () => `redis ${fmt(sale("redis"), "/s")} vs mysql-locking ${fmt(sale("mysql-locking"), "/s")}`,
    ),
    target(
      "Carts of three hot products: completed checkouts/s >= 4x the classic design",
      hot3("redis"),
      hot3("mysql-locking"),
      4,
      ">=",
      () => `redis ${fmt(hot3("redis"), "/s")} vs mysql-locking ${fmt(hot3("mysql-locking"), "/s")}`,
    ),
    target(
      "Sold-out answers/s >= 90% of a plain Express route (GET /healthz, same process, same concurrency)",
      soldOut?.soldOut.requestsPerSecond,
      soldOut?.healthz.requestsPerSecond,
      0.9,
      ">=",
      () =>
        `sold-out ${fmt(soldOut?.soldOut.requestsPerSecond, "/s")} vs healthz ${fmt(soldOut?.healthz.requestsPerSecond, "/s")} (rate limiter on)`,
    ),
    target(
      "Wide catalog (no contention): completed checkouts/s >= 2x the classic design",
      wideRate("redis"),
      wideRate("mysql-locking"),
      2,
      ">=",
      () => `redis ${fmt(wideRate("redis"), "/s")} vs mysql-locking ${fmt(wideRate("mysql-locking"), "/s")}`,
    ),
    target(
      "Add-to-cart: items added/s >= 80% of the no-op floor's",
      adds("redis"),
      adds("noop"),
      0.8,
      ">=",
      () => `redis ${fmt(adds("redis"), "/s")} vs no-op floor ${fmt(adds("noop"), "/s")}`,
    ),
    target(
      "SQL statements per completed checkout <= 1.0, amortized (wide catalog, flush and reconciler included)",
      wideCost("redis")?.statementsPer,
      1,
      1,
      "<=",
      () => `${fmt(wideCost("redis")?.statementsPer, "statements")} per checkout`,
    ),
    target(
      "Worker CPU per checkout job <= 2x the no-op floor's (wide catalog)",
      wideCost("redis")?.workerCpuMsPerRequest,
      wideCost("noop")?.workerCpuMsPerRequest,
      2,
      "<=",
      () =>
        `redis ${fmt(wideCost("redis")?.workerCpuMsPerRequest, "ms")} vs no-op floor ${fmt(wideCost("noop")?.workerCpuMsPerRequest, "ms")} per job`,
    ),
    target(
      `p99 latency <= 1.5x the floor's p99 (wide catalog checkouts, ${concurrency} concurrent clients)`,
      wide("redis"),
      wide("noop"),
      1.5,
      "<=",
      () => `redis p99 ${fmt(wide("redis"), "ms")} vs no-op floor p99 ${fmt(wide("noop"), "ms")}`,
    ),
  ];
}
