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

/** A figure of the redis design against one of another design (or a constant), with the words for it. */
type Figure = (d: DesignId) => number | undefined;
interface Target {
  name: string;
  rule: Rule;
}
interface Rule {
  figure: Figure;
  /** The design compared with, or a fixed bound. */
  against: DesignId | number;
  threshold: number;
  direction: ">=" | "<=";
  unit: string;
  /** How the two figures are named in the detail; the designs' names by default. */
  names?: [string, string];
  /** Words after the figures. */
  note?: string;
}

export function evaluateTargets(result: Pick<BenchResult, "runs" | "settings">): TargetResult[] {
  const { runs } = result;
  const phase = (s: ScenarioId, name: string) => (d: DesignId) => phaseOf(findRun(runs, s, d), name);
  const sale: Figure = (d) => phase("flash-sale", "checkout")(d)?.saleWindow?.completedPerSecond;
  const hot3: Figure = (d) => phase("hot-3", "checkout")(d)?.saleWindow?.completedPerSecond;
  const wide = phase("wide-catalog", "checkout");
  const wideCost = (d: DesignId) => {
    const p = wide(d);
    return p ? phaseCost(p) : null;
  };
  const soldOut = findRun(runs, "flash-sale", "redis")?.soldOut;
  const concurrency = String(result.settings.concurrency ?? "?");
  const wideRate: Figure = (d) => wide(d)?.ordersCompleted?.perSecond ?? wide(d)?.okPerSecond;
  const adds: Figure = (d) => phase("add-only", "add")(d)?.okPerSecond;
  const statements: Figure = (d) => wideCost(d)?.statementsPer;
  const workerCpu: Figure = (d) => wideCost(d)?.workerCpuMsPerRequest;
  const p99: Figure = (d) => wide(d)?.latencyMs.p99;
  // The redis design's sold-out answers against its own /healthz, named as the floor's figure.
  const soldOutRate: Figure = (d) => (d === "redis" ? soldOut?.soldOut : soldOut?.healthz)?.requestsPerSecond;
  const targets: Target[] = [
    {
      name: "Flash sale: completed checkouts/s while stock lasts >= 80% of the no-op floor",
      rule: { figure: sale, against: "noop", threshold: 0.8, direction: ">=", unit: "/s" },
    },
    {
      name: "One hot product: completed checkouts/s >= 3x the classic design",
      rule: { figure: sale, against: "mysql-locking", threshold: 3, direction: ">=", unit: "/s" },
    },
    {
      name: "Carts of three hot products: completed checkouts/s >= 4x the classic design",
      rule: { figure: hot3, against: "mysql-locking", threshold: 4, direction: ">=", unit: "/s" },
    },
    {
      name: "Sold-out answers/s >= 90% of a plain Express route (GET /healthz, same process, same concurrency)",
      rule: {
        figure: soldOutRate,
        against: "noop",
        threshold: 0.9,
        direction: ">=",
        unit: "/s",
        names: SOLD_OUT,
        note: "(rate limiter on)",
      },
    },
    {
      name: "Wide catalog (no contention): completed checkouts/s >= 2x the classic design",
      rule: { figure: wideRate, against: "mysql-locking", threshold: 2, direction: ">=", unit: "/s" },
    },
    {
      name: "Add-to-cart: items added/s >= 80% of the no-op floor's",
      rule: { figure: adds, against: "noop", threshold: 0.8, direction: ">=", unit: "/s" },
    },
    {
      name: "SQL statements per completed checkout <= 1.0, amortized (wide catalog, flush and reconciler included)",
      rule: { figure: statements, against: 1, threshold: 1, direction: "<=", unit: "statements" },
    },
    {
      name: "Worker CPU per checkout job <= 2x the no-op floor's (wide catalog)",
      rule: { figure: workerCpu, against: "noop", threshold: 2, direction: "<=", unit: "ms", note: "per job" },
    },
    {
      name: `p99 latency <= 1.5x the floor's p99 (wide catalog checkouts, ${concurrency} concurrent clients)`,
      rule: { figure: p99, against: "noop", threshold: 1.5, direction: "<=", unit: "ms", names: P99 },
    },
  ];
  return targets.map(({ name, rule }) => evaluate(name, rule));
}

const SOLD_OUT: [string, string] = ["sold-out", "healthz"];
const P99: [string, string] = ["redis p99", "no-op floor p99"];

function evaluate(name: string, { figure, against, threshold, direction, unit, names, note }: Rule): TargetResult {
  const a = figure("redis");
  const b = typeof against === "number" ? against : figure(against);
  if (a === undefined || b === undefined || b === 0)
    return { name, ratio: null, threshold, direction, pass: null, detail: "not measured in this run" };
  const ratio = round(a / b, 2);
  const pass = direction === ">=" ? ratio >= threshold : ratio <= threshold;
  const [first, second] = names ?? ["redis", against === "noop" ? "no-op floor" : String(against)];
  const fmt = (n: number) => `${n} ${unit}`;
  const figures = typeof against === "number" ? `${fmt(a)} per checkout` : `${first} ${fmt(a)} vs ${second} ${fmt(b)}`;
  const detail = note ? `${figures} ${note}` : figures;
  return { name, ratio, threshold, direction, pass, detail };
}
