/** The targets, as ratios from one run, each PASS or FAIL; and what a checkout costs. */
import { cpuOf, isWorker, round } from "./stats";
import type { DesignId, PhaseResult, ScenarioId, ScenarioRun, BenchResult } from "./types";

/**
 * What a checkout or an add through the workers costs, per completed one (orders in MySQL,
 * else 200 answers): SQL statements, transactions, and worker CPU ms per request (a job each).
 */
export function phaseCost(p: PhaseResult) {
  const completed = p.ordersCompleted?.completed ?? p.ok;
  if (!/ (add|checkout)$/.test(p.name) || completed === 0 || p.requests === 0) return null;
  const [statementsPer, transactionsPer] = [
    round(p.mysql.questions / completed, 2),
    round(p.mysql.commits / completed, 3),
  ];
  const workerCpuMsPerRequest = round((1000 * cpuOf(p, isWorker, "cpuSeconds")) / p.requests, 2);
  return { completed, statementsPer, transactionsPer, workerCpuMsPerRequest };
}
export type PhaseCost = NonNullable<ReturnType<typeof phaseCost>>;

export const phaseOf = (runs: ScenarioRun[], scenario: ScenarioId, design: DesignId, name: string) =>
  runs.find((r) => r.scenario === scenario && r.design === design)?.phases.find((p) => p.name.endsWith(` ${name}`));

/** A figure of a design's run; the redis design's is compared with another design's (or a fixed bound). */
type Figure = (d: DesignId) => number | undefined;
/** [name, figure, against, threshold, unit (">=" rules: per second), how the two figures are named in the detail]. */
type Rule = [string, Figure, DesignId | number, number, string?, (readonly [string, string])?];

export function evaluateTargets(runs: ScenarioRun[], concurrency: number): BenchResult["targets"] {
  const phase = (s: ScenarioId, name: string) => (d: DesignId) => phaseOf(runs, s, d, name);
  const sale: Figure = (d) => phase("flash-sale", "checkout")(d)?.saleWindow?.completedPerSecond;
  const hot3: Figure = (d) => phase("hot-3", "checkout")(d)?.saleWindow?.completedPerSecond;
  const wide = phase("wide-catalog", "checkout");
  const wideCost = (d: DesignId) => [wide(d)].flatMap((p) => (p ? [phaseCost(p)] : []))[0];
  const soldOut = runs.find((r) => r.scenario === "flash-sale" && r.design === "redis")?.soldOut;
  // The redis design's sold-out answers against its own /healthz, named as the floor's figure.
  const soldOutRate: Figure = (d) => (d === "redis" ? soldOut?.soldOut : soldOut?.healthz)?.requestsPerSecond;
  const atLeast: Rule[] = [
    ["Flash sale: completed checkouts/s while stock lasts >= 80% of the no-op floor", sale, "noop", 0.8],
    ["One hot product: completed checkouts/s >= 3x the classic design", sale, "mysql-locking", 3],
    ["Carts of three hot products: completed checkouts/s >= 4x the classic design", hot3, "mysql-locking", 4],
    [
      "Sold-out answers/s >= 90% of a plain Express route (GET /healthz, same process, same concurrency)",
      ...([soldOutRate, "noop", 0.9, "/s", ["sold-out", "healthz (rate limiter on)"]] as const),
    ],
    [
      "Wide catalog (no contention): completed checkouts/s >= 2x the classic design",
      ...([(d: DesignId) => wide(d)?.ordersCompleted?.perSecond ?? wide(d)?.okPerSecond, "mysql-locking", 2] as const),
    ],
    [
      "Add-to-cart: items added/s >= 80% of the no-op floor's",
      (d) => phase("add-only", "add")(d)?.okPerSecond,
      "noop",
      0.8,
    ],
  ];
  const atMost: Rule[] = [
    [
      "SQL statements per completed checkout <= 1.0, amortized (wide catalog, flush and reconciler included)",
      ...([(d: DesignId) => wideCost(d)?.statementsPer, 1, 1, "statements"] as const),
    ],
    [
      "Worker CPU per checkout job <= 2x the no-op floor's (wide catalog)",
      ...([(d: DesignId) => wideCost(d)?.workerCpuMsPerRequest, "noop", 2, "ms per job"] as const),
    ],
    [
      `p99 latency <= 1.5x the floor's p99 (wide catalog checkouts, ${concurrency} concurrent clients)`,
      ...([(d: DesignId) => wide(d)?.latencyMs.p99, "noop", 1.5, "ms", ["redis p99", "no-op floor p99"]] as const),
    ],
  ];
  const rules = [...atLeast.map((r) => [">=", r] as const), ...atMost.map((r) => ["<=", r] as const)];
  return rules.map(([direction, [name, figure, against, threshold, unit = "/s", names]]) => {
    const [a, b] = [figure("redis"), typeof against === "number" ? against : figure(against)];
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
