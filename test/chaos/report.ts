/** What a chaos run reports, and how it prints: its figures and its invariants table. */
import type { CheckResult, InvariantReport } from "./invariants";

export interface ChaosReport {
  seed: number;
  form: "short" | "full";
  redis: "single" | "cluster";
  logDir: string;
  timings: Record<string, number>;
  faults: Record<string, number>;
  shoppers: Record<string, number>;
  invariants: InvariantReport | null;
  checks: CheckResult[];
  /** Violation messages (each check's list may be cut short). */
  violations: string[];
  /** Every violation found. */
  violationCount: number;
  /** Problems of the harness itself or of the run that are not product invariants (reported, not failed). */
  notes: string[];
  reconcileRepairs: number;
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length))) ?? [];
  return rows
    .map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0))).join("  "))
    .join("\n");
}

function pairs(figures: Record<string, number>): string {
  return Object.entries(figures)
    .filter(([, v]) => v !== 0)
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
}

export function formatReport(report: ChaosReport): string {
  const lines: string[] = [];
  const seconds = (ms: number | undefined) => `${((ms ?? 0) / 1000).toFixed(1)}s`;
  lines.push(
    `== chaos ${report.form} run${report.redis === "cluster" ? " on a Redis Cluster" : ""}, seed ${report.seed}: ${report.violationCount ? `FAILED (${report.violationCount} violations)` : "passed"} in ${seconds(report.timings.totalMs)}`,
  );
  lines.push(
    `   timings: ${Object.entries(report.timings)
      .map(([k, v]) => `${k.replace(/Ms$/, "")}=${seconds(v)}`)
      .join(" ")}`,
  );
  lines.push(`   faults:   ${pairs(report.faults) || "none"}`);
  lines.push(`   shoppers: ${pairs(report.shoppers)}`);
  const inv = report.invariants;
  if (inv) {
    lines.push(
      `   orders:   completed=${inv.orders.completed} failed=${inv.orders.failed} pending=${inv.orders.pending} (${pairs(inv.orders.byFailure) || "no failures"})`,
    );
    lines.push(`   after checkout: ${pairs(inv.orders.byState) || "none"}`);
    lines.push(
      `   payments: ${pairs(inv.payments) || "none"}; reconcile repairs at the end: ${report.reconcileRepairs}`,
    );
    lines.push(
      `   time to final: ${inv.bound.orders} told orders; longest not final with no fault in effect ${seconds(inv.bound.longestMs)}${inv.bound.longestOrderId ? ` (order ${inv.bound.longestOrderId})` : ""}`,
    );
    if (Object.keys(inv.unknownAccepted).length)
      lines.push(`   accepted order ids MySQL does not know, by their job: ${pairs(inv.unknownAccepted)}`);
    lines.push("");
    lines.push(
      table([
        ["product", "initial", "restocked", "returned", "mysql", "sold", "redis", "held"],
        ...inv.products.map((p) => [
          p.productId,
          String(p.initial),
          String(p.restocked),
          String(p.returned),
          String(p.mysql),
          String(p.sold),
          p.redis === null ? "-" : String(p.redis),
          String(p.held),
        ]),
      ])
        .split("\n")
        .map((l) => `   ${l}`)
        .join("\n"),
    );
  }
  lines.push("");
  lines.push(
    table([
      ["invariant", "checked", "violations"],
      ...report.checks.map((c) => [c.name, String(c.checked), String(c.failed)]),
      [
        "total",
        String(report.checks.reduce((s, c) => s + c.checked, 0)),
        String(report.checks.reduce((s, c) => s + c.failed, 0)),
      ],
    ])
      .split("\n")
      .map((l) => `   ${l}`)
      .join("\n"),
  );
  for (const c of report.checks) {
    for (const v of c.violations.slice(0, 8)) lines.push(`   VIOLATION ${c.name}: ${v}`);
    if (c.failed > 8)
      lines.push(`   ... and ${c.failed - 8} more of "${c.name}" (all in ${report.logDir}/report.json)`);
  }
  for (const n of report.notes) lines.push(`   note: ${n}`);
  if (report.violationCount) {
    lines.push(`   logs: ${report.logDir}`);
    lines.push(
      `   replay: npm run chaos -- --seed ${report.seed}${report.form === "short" ? " --short" : ""}${report.redis === "cluster" ? " --cluster" : ""}`,
    );
  }
  return lines.join("\n");
}
