/** What a checkout and an add cost: SQL statements, transactions and worker CPU per completed one. */
import { round } from "./stats";
import type { PhaseResult, ScenarioRun } from "./types";

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
