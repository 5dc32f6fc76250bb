#!/usr/bin/env node
// Prints a one-line summary of a vitest JSON report as the LAST line of output:
//   "N passed, N failed"  (", N skipped" appended only when N > 0)
// Exits 1 when any test failed, any test file failed to run, or no test ran at all.
// Usage: node scripts/ci-summary.mjs test-results/vitest.json
import { readFileSync } from "node:fs";

const file = process.argv[2] ?? "test-results/vitest.json";

let report;
try {
  report = JSON.parse(readFileSync(file, "utf8"));
} catch (err) {
  console.error(`ci-summary: cannot read vitest JSON report ${file}: ${err instanceof Error ? err.message : err}`);
  console.log("0 passed, 0 failed");
  process.exit(1);
}

const num = (v) => (Number.isFinite(v) ? v : 0);
const passed = num(report.numPassedTests);
const failed = num(report.numFailedTests);
const skipped = num(report.numPendingTests) + num(report.numTodoTests);
const failedFiles = num(report.numFailedTestSuites);

// Test files that failed outside any test (import error, hook error) do not show up in numFailedTests.
const cwd = process.cwd() + "/";
for (const suite of report.testResults ?? []) {
  if (suite.status === "failed") {
    const name = String(suite.name ?? "?").replace(cwd, "");
    const failedInFile = (suite.assertionResults ?? []).filter((a) => a.status === "failed").length;
    const reason =
      failedInFile > 0 ? `${failedInFile} failed test(s)` : (suite.message || "failed to run").split("\n")[0];
    console.error(`FAILED ${name}: ${reason}`);
  }
}
if (passed + failed === 0) console.error("ci-summary: no tests ran");

const problems = failed > 0 || failedFiles > 0 || passed + failed === 0;
console.log(`${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ""}`);
process.exit(problems ? 1 : 0);
