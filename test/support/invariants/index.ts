/**
 * The invariant checker, as the test suite imports it. The checks themselves are in
 * system.ts (shared with the benchmark's bench/checks.ts and the chaos suite's
 * test/chaos/invariants.ts); the reads are in figures.ts and holds.ts.
 */
export { sleep, eventually } from "./wait";
export { unfinishedCheckoutJobs, waitForQuiescence, flushAll, type QuiescenceOptions } from "./quiescence";
export {
  conservationReport,
  assertConservation,
  type ConservationOptions,
  type ConservationReport,
  type ProductFigures,
} from "./conservation";
export { eventCounts } from "./events";
export type { CheckResult } from "./check";
