/** Puts a chaos run's checks and figures together into its report, and saves it beside the logs. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { CheckResult, InvariantReport } from "./invariants";
import type { ChaosReport } from "./report";
import type { ShopperRecord } from "./shopper";

export interface ReportParts extends Omit<ChaosReport, "checks" | "violations" | "violationCount"> {
  invariants: InvariantReport;
  /** What the wait for rest and the final flush found still undone. */
  quiet: string[];
  flushed: string[];
  /** The worker faults' checks, the invariants' own, and the Redis deployment's. */
  faultChecks: CheckResult[];
  redisChecks: CheckResult[];
}

export function assembleReport(parts: ReportParts): ChaosReport {
  const { quiet, flushed, faultChecks, redisChecks, ...figures } = parts;
  const checks: CheckResult[] = [
    {
      name: "quiescence: no pending order, queues idle, all flushed",
      checked: 3,
      violations: [...quiet, ...flushed],
      failed: quiet.length + flushed.length,
    },
    ...faultChecks,
    ...parts.invariants.checks,
    ...redisChecks,
  ];
  return {
    seed: figures.seed,
    form: figures.form,
    redis: figures.redis,
    logDir: figures.logDir,
    timings: figures.timings,
    faults: figures.faults,
    shoppers: figures.shoppers,
    invariants: figures.invariants,
    checks,
    violations: checks.flatMap((c) => c.violations.map((v) => `${c.name}: ${v}`)),
    violationCount: checks.reduce((sum, c) => sum + c.failed, 0),
    notes: figures.notes,
    reconcileRepairs: figures.reconcileRepairs,
  };
}

/** report.json and every shopper's record, in the run's log folder. */
export function saveReport(report: ChaosReport, records: ShopperRecord[]): void {
  writeFileSync(join(report.logDir, "report.json"), JSON.stringify(report, null, 2));
  writeFileSync(join(report.logDir, "shoppers.json"), JSON.stringify(records, null, 2));
}
