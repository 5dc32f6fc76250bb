/** The targets, as ratios from one run, each PASS or FAIL; and what a checkout costs. */
import { round } from "./stats";
import type { DesignId, PhaseResult, ScenarioId, ScenarioRun, TargetResult } from "./types";

/** What a checkout and an add cost: SQL statements, transactions and worker CPU per completed one. */
export interface PhaseCost {
  /** Completed checkouts (orders in MySQL, else 200 answers) or added items. */
  completed: number;
  statementsPer: number;
  transactionsPer: number;
  /** Worker processes' CPU per request of the phase (a job each), ms. */
  workerCpuMsPerRequest: number;
}

export function phaseCost(p: PhaseResult): PhaseCost | null {
  const completed = p.ordersCompleted?.completed ?? p.ok;
  if (!p.mysql || completed === 0 || p.requests === 0) return null;
  const workerCpu = p.processes.filter((x) => x.name.startsWith("worker")).reduce((s, x) => s + x.cpuSeconds, 0);
  return {
    completed,
    statementsPer: round(p.mysql.questions / completed, 2),
    transactionsPer: round(p.mysql.commits / completed, 3),
    workerCpuMsPerRequest: round((1000 * workerCpu) / p.requests, 2),
  };
}

/** The phases whose cost is reported: adds and checkouts that ran through the workers. */
export function costPhases(run: ScenarioRun): PhaseResult[] {
  return run.phases.filter((p) => / (add|checkout)$/.test(p.name));
}

/** A phase ("checkout", "add", ...) of one scenario run. */
export function phaseOf(runs: ScenarioRun[], scenario: ScenarioId, design: DesignId, name: string) {
  const run = runs.find((r) => r.scenario === scenario && r.design === design);
  return run?.phases.find((p: PhaseResult) => p.name.endsWith(` ${name}`));
}

/** A figure of a design's run; the redis design's is compared with another design's (or a fixed bound). */
type Figure = (d: DesignId) => number | undefined;
interface Rule {
  figure: Figure;
  against: DesignId | number;
  threshold: number;
  direction: ">=" | "<=";
  unit: string;
  /** How the two figures are named in the detail; the designs' names by default. */
  names?: [string, string];
}
const atLeast = (figure: Figure, against: DesignId, threshold: number, names?: [string, string]): Rule => ({
  figure,
  against,
  threshold,
  direction: ">=",
  unit: "/s",
  names,
});
const atMost = (
  figure: Figure,
  against: DesignId | number,
  threshold: number,
  unit: string,
  names?: [string, string],
) => ({ figure, against, threshold, direction: "<=", unit, names }) satisfies Rule;

export function evaluateTargets(runs: ScenarioRun[], concurrency: number): TargetResult[] {
  const phase = (s: ScenarioId, name: string) => (d: DesignId) => phaseOf(runs, s, d, name);
  const sale: Figure = (d) => phase("flash-sale", "checkout")(d)?.saleWindow?.completedPerSecond;
  const hot3: Figure = (d) => phase("hot-3", "checkout")(d)?.saleWindow?.completedPerSecond;
  const wide = phase("wide-catalog", "checkout");
  const wideCost = (d: DesignId) => {
    const p = wide(d);
    return p ? phaseCost(p) : null;
  };
  const soldOut = runs.find((r) => r.scenario === "flash-sale" && r.design === "redis")?.soldOut;
  // The redis design's sold-out answers against its own /healthz, named as the floor's figure.
  const soldOutRate: Figure = (d) => (d === "redis" ? soldOut?.soldOut : soldOut?.healthz)?.requestsPerSecond;
  const targets: Array<[string, Rule]> = [
    ["Flash sale: completed checkouts/s while stock lasts >= 80% of the no-op floor", atLeast(sale, "noop", 0.8)],
    ["One hot product: completed checkouts/s >= 3x the classic design", atLeast(sale, "mysql-locking", 3)],
    ["Carts of three hot products: completed checkouts/s >= 4x the classic design", atLeast(hot3, "mysql-locking", 4)],
    [
      "Sold-out answers/s >= 90% of a plain Express route (GET /healthz, same process, same concurrency)",
      atLeast(soldOutRate, "noop", 0.9, ["sold-out", "healthz (rate limiter on)"]),
    ],
    [
      "Wide catalog (no contention): completed checkouts/s >= 2x the classic design",
      atLeast((d) => wide(d)?.ordersCompleted?.perSecond ?? wide(d)?.okPerSecond, "mysql-locking", 2),
    ],
    [
      "Add-to-cart: items added/s >= 80% of the no-op floor's",
      atLeast((d) => phase("add-only", "add")(d)?.okPerSecond, "noop", 0.8),
    ],
    [
      "SQL statements per completed checkout <= 1.0, amortized (wide catalog, flush and reconciler included)",
      atMost((d) => wideCost(d)?.statementsPer, 1, 1, "statements"),
    ],
    [
      "Worker CPU per checkout job <= 2x the no-op floor's (wide catalog)",
      atMost((d) => wideCost(d)?.workerCpuMsPerRequest, "noop", 2, "ms per job"),
    ],
    [
      `p99 latency <= 1.5x the floor's p99 (wide catalog checkouts, ${concurrency} concurrent clients)`,
      atMost((d) => wide(d)?.latencyMs.p99, "noop", 1.5, "ms", ["redis p99", "no-op floor p99"]),
    ],
  ];
  return targets.map(([name, { figure, against, threshold, direction, unit, names }]): TargetResult => {
    const a = figure("redis");
    const b = typeof against === "number" ? against : figure(against);
    if (a === undefined || b === undefined || b === 0)
      return { name, ratio: null, threshold, direction, pass: null, detail: "not measured in this run" };
    const ratio = round(a / b, 2);
    const pass = direction === ">=" ? ratio >= threshold : ratio <= threshold;
    const [first, second] = names ?? ["redis", against === "noop" ? "no-op floor" : String(against)];
    const detail =
      typeof against === "number" ? `${a} ${unit} per checkout` : `${first} ${a} ${unit} vs ${second} ${b} ${unit}`;
    return { name, ratio, threshold, direction, pass, detail };
  });
}
