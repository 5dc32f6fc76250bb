/** The results as a console table, a markdown summary, a JSON file and the charts (charts.ts). */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { format } from "prettier";
import { chartSvg, soakSvg } from "./charts";
import { costPhases, phaseCost } from "./cost";
import { round } from "./stats";
import type { BenchResult, PhaseResult, ProcessUsage } from "./types";

type Cell = string | number;
interface Table {
  header: string[];
  rows: Cell[][];
}

const MiB = (kb: number) => round(kb / 1024, 0);
const isApi = (u: ProcessUsage) => u.name === "api" || u.name.startsWith("api-");
const isWorker = (u: ProcessUsage) => u.name.startsWith("worker-");
const isNamed = (name: string) => (u: ProcessUsage) => u.name === name;
const cpu = (p: PhaseResult, match: (u: ProcessUsage) => boolean) =>
  round(p.processes.filter(match).reduce((s, u) => s + u.cpuPercent, 0));
const mem = (p: PhaseResult, match: (u: ProcessUsage) => boolean, f: (u: ProcessUsage) => number) =>
  MiB(p.processes.filter(match).reduce((m, u) => Math.max(m, f(u)), 0));
/** "flash-sale/redis add" -> "add". */
export const phaseName = (p: PhaseResult) => p.name.split(" ").slice(1).join(" ");
const passText = (pass: boolean | null) => (pass === null ? "n/a" : pass ? "PASS" : "FAIL");

/** The columns of the per-phase table; the console shows those up to the API's memory, and the errors. */
const COLUMNS: Array<[string, (p: PhaseResult) => Cell]> = [
  ["req/s", (p) => p.requestsPerSecond],
  ["200/s", (p) => p.okPerSecond],
  ["409/s", (p) => p.rejectedPerSecond],
  ["sale /s", (p) => p.saleWindow?.completedPerSecond ?? ""],
  ["orders/s", (p) => p.ordersCompleted?.perSecond ?? ""],
  ["p50", (p) => p.latencyMs.p50],
  ["p95", (p) => p.latencyMs.p95],
  ["p99", (p) => p.latencyMs.p99],
  ["max", (p) => p.latencyMs.max],
  ["API CPU%", (p) => cpu(p, isApi)],
  ["workers CPU%", (p) => cpu(p, isWorker)],
  ["redis CPU%", (p) => cpu(p, isNamed("redis-server"))],
  ["mariadb CPU%", (p) => cpu(p, isNamed("mariadbd"))],
  ["bench CPU%", (p) => p.clientCpuPercent],
  ["API MiB", (p) => mem(p, isApi, (u) => u.hwmKb)],
  ["workers MiB", (p) => mem(p, isWorker, (u) => u.hwmKb)],
  ["redis MiB", (p) => mem(p, isNamed("redis-server"), (u) => u.rssPeakKb)],
  ["mariadb MiB", (p) => mem(p, isNamed("mariadbd"), (u) => u.rssPeakKb)],
  ["Redis mem Δ MiB", (p) => round((p.redisUsedMemory.after - p.redisUsedMemory.before) / 1_048_576, 1)],
  ["errors", (p) => (p.errors + p.pending ? `${p.errors}${p.pending ? ` (+${p.pending} 202)` : ""}` : 0)],
  ["load avg", (p) => (p.loadAverage ? p.loadAverage.map((l) => round(l, 1)).join("→") : "")],
];
const SHORT = [...COLUMNS.slice(0, 15), ...COLUMNS.filter(([c]) => c === "errors")];

function phases(result: BenchResult, columns: typeof COLUMNS): Table {
  const rows = result.runs.flatMap((run) =>
    run.phases.map((p) => [run.scenario, run.design, phaseName(p), ...columns.map(([, f]) => f(p))]),
  );
  return { header: ["scenario", "design", "phase", ...columns.map(([c]) => c)], rows };
}

function checks(result: BenchResult): Table {
  const header = ["scenario", "design", "oversold units", "conservation", "Redis = MySQL", "completed", "failed"];
  const rows = result.runs.map(({ scenario, design, checks: c }) => [
    ...[scenario, design, c.oversoldUnits, String(c.conservation), String(c.redisMatchesMysql ?? "n/a")],
    ...[c.completedOrders, c.failedOrders, c.pendingOrders, c.paymentMismatches, String(c.answersAgree)],
    c.ok ? "ok" : `FAIL: ${c.violations.slice(0, 3).join("; ")}`,
  ]);
  return { header: [...header, "pending", "payment mismatches", "answers agree", "checks"], rows };
}

function cost(result: BenchResult): Table {
  const header = ["scenario", "design", "phase", "completed", "statements each", "transactions each"];
  const batches = ["write batches: transactions", "mean writes each", "p50 <=", "p90 <=", "max <="];
  const rows = result.runs.flatMap((run) =>
    costPhases(run).flatMap((p) => {
      const c = phaseCost(p);
      const b = run.writeBatches;
      if (!c) return [];
      const perBatch = b ? [b.transactions, b.meanSize, b.p50AtMost, b.p90AtMost, b.maxAtMost] : ["", "", "", "", ""];
      return [
        [
          run.scenario,
          run.design,
          phaseName(p),
          c.completed,
          c.statementsPer,
          c.transactionsPer,
          c.workerCpuMsPerRequest,
          ...perBatch,
        ],
      ];
    }),
  );
  return { header: [...header, "worker CPU ms per job", ...batches], rows };
}

const ceilings = (result: BenchResult): Table => ({
  header: ["ceiling", "what", "ops/s", "p50 ms", "p99 ms", "server CPU%", "bench CPU%", "failures"],
  rows: result.ceilings.map((c) => [
    ...[c.name, c.description, c.opsPerSecond, c.latencyMs.p50, c.latencyMs.p99],
    ...[c.serverCpuPercent, c.clientCpuPercent, c.failures],
  ]),
});

const scale = (result: BenchResult): Table => ({
  header: [
    ...["API processes", "offered checkouts/s", "answered req/s", "orders/s", "p50 ms", "p99 ms"],
    ...["CPU% of each API process", "API CPU% total", "API CPU ms per request", "workers CPU%", "checks"],
  ],
  rows: result.scale.map((s) => [
    ...[s.apiProcesses, s.targetRate, s.phase.requestsPerSecond, s.phase.ordersCompleted?.perSecond ?? ""],
    ...[s.phase.latencyMs.p50, s.phase.latencyMs.p99, s.apiCpuPercent.join(" / "), s.apiCpuPercentTotal],
    ...[s.apiCpuMsPerRequest, s.workersCpuPercent, s.checksOk ? "ok" : "FAIL"],
  ]),
});

const soak = (result: BenchResult): Table => ({
  header: ["series", "first", "last", "delta", "growth %"],
  rows: (result.soak?.growth ?? []).map((g) => [`${g.series} (${g.unit})`, g.first, g.last, g.delta, g.percent]),
});

const targets = (result: BenchResult): Table => ({
  header: ["target", "ratio", "needs", "result", "figures"],
  rows: result.targets.map((t) => [
    t.name,
    t.ratio ?? "-",
    `${t.direction} ${t.threshold}`,
    passText(t.pass),
    t.detail,
  ]),
});

function soldOut(result: BenchResult): Table {
  const header = ["design", "sold-out req/s", "sold-out p99 ms", "GET /healthz req/s", "healthz p99 ms", "ratio"];
  const rows = result.runs.flatMap(({ design, soldOut: s }) =>
    s
      ? [
          [
            design,
            s.soldOut.requestsPerSecond,
            s.soldOut.latencyMs.p99,
            s.healthz.requestsPerSecond,
            s.healthz.latencyMs.p99,
            round(s.ratio, 2),
            `${cpu(s.soldOut, isApi)} / ${cpu(s.healthz, isApi)}`,
          ],
        ]
      : [],
  );
  return { header: [...header, "API CPU% (sold-out / healthz)"], rows };
}

function markdownTable({ header, rows }: Table): string {
  const line = (cells: Cell[]) => `| ${cells.map((c) => String(c)).join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

function textTable({ header, rows }: Table): string {
  const all = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...all.map((r) => String(r[i] ?? "").length)));
  return all.map((r) => r.map((c, i) => String(c).padStart(widths[i] ?? 0)).join("  ")).join("\n");
}

/** Titled sections of the report, each a table with a sentence on what it shows; empty tables are left out. */
function sections(result: BenchResult, console: boolean): Array<[string, string, Table]> {
  const s = result.soak;
  const all: Array<[string, string, Table]> = [
    ["Targets", "Ratios from this run.", targets(result)],
    ["Throughput, latency, CPU and memory per phase", PHASES_NOTE, phases(result, console ? SHORT : COLUMNS)],
    ["Sold-out answers against the plain route", "", soldOut(result)],
    ["What a checkout costs", COST_NOTE, cost(result)],
    ["Correctness", "", checks(result)],
    ["Ceilings: each design's bottleneck alone", "", ceilings(result)],
    ["Horizontal scale of the API", "Same offered load.", scale(result)],
    ["Memory soak", s ? soakNote(s) : "", soak(result)],
  ];
  return all.filter(([, , t]) => t.rows.length > 0);
}

const PHASES_NOTE =
  "Latency in ms. `load avg`: the machine's 1-minute load average at the start and end of the phase (2 cores; the machine is shared). CPU in % of one core over the phase (redis-server and mariadbd include other clients of the shared servers). Memory: API and workers VmHWM (peak since the process started), redis-server and mariadbd highest sampled VmRSS; Redis mem Δ: INFO used_memory after minus before the phase. `sale /s`: completed checkouts per second from the start until the last unit was sold; `orders/s`: orders completed per second until the last one completed (both from MySQL's completed_at, so checkouts answered 202 Pending that completed later count; the no-op floor writes no orders, its sale window counts 200 answers).";
const COST_NOTE =
  "Per completed checkout (orders in MySQL; the floor: 200 answers) or added item, over the phase: SQL statements (MariaDB `Questions`, the benchmark's own left out; the flush and the reconciler included) and transactions (`Com_commit`); worker CPU per job (both worker processes). Group commit: writes per MySQL transaction of the workers over the whole run (`oms_write_batch_size`; quantiles are histogram bucket bounds).";

function soakNote(s: NonNullable<BenchResult["soak"]>): string {
  const rows = Object.entries(s.tableRows).map(([t, v]) => `${t} ${v.first} -> ${v.last}`);
  return [
    `${s.minutes} min at ${s.targetSessionsPerSecond} sessions/s (each a new client: 1-3 adds, then a checkout); ${s.phase.requestsPerSecond} req/s answered, p99 ${s.phase.latencyMs.p99} ms, ${s.phase.errors} errors. Growth: mean of the last ${s.windowSeconds}s against the first ${s.windowSeconds}s. Chart: soak.svg.`,
    `Keys under the run's prefix: ${s.prefixKeys.first} -> ${s.prefixKeys.last}. Rows: ${rows.join(", ")}. Checks after the soak: ${s.checks.ok ? "ok" : `FAIL: ${s.checks.violations.join("; ")}`}.`,
  ].join("\n\n");
}

export function consoleReport(result: BenchResult): string {
  const parts = sections(result, true).map(([title, , table]) => `\n${title}\n\n${textTable(table)}`);
  return [
    `\nResults (${result.form} form; latency in ms; CPU in % of one core)`,
    ...parts,
    `\nCorrectness overall: ${result.correctnessOk ? "ok" : "FAILED"}`,
  ].join("\n");
}

export function markdownReport(result: BenchResult): string {
  const m = result.machine;
  const machine = [m.nproc, m.cpuModel, `${m.memoryGb} GB`, m.node, m.os, m.redisVersion, m.mysqlVersion];
  const scenarios = [...new Map(result.runs.map((r) => [r.scenario, r.params])).entries()].flatMap(([id, params]) => [
    `### ${id}`,
    `Parameters: ${Object.entries(params)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}.`,
  ]);
  const out = [
    `# Benchmark results (${result.form} form)`,
    `Run ${m.startedAt} to ${m.finishedAt} with \`npm run bench${result.form === "quick" ? " -- --quick" : ""}\`. See docs/benchmark.md for what each figure means.`,
    "## Machine",
    markdownTable({
      header: ["nproc", "CPU", "memory", "node", "OS", "Redis", "MariaDB", "load average (start / end)"],
      rows: [[...machine, `${m.loadAverageStart} / ${m.loadAverageEnd}`]],
    }),
    "The machine is shared: other work ran beside the benchmark (see the load average), Redis and MariaDB serve other clients too, and the load generator runs on the same two cores as the system. Compare designs within this run, not across runs.",
    "## Settings",
    markdownTable({
      header: ["setting", "value"],
      rows: Object.entries(result.settings).map(([k, v]) => [k, String(v)]),
    }),
    "## Scenarios",
    ...scenarios,
    ...sections(result, false).flatMap(([title, note, table]) => [
      `## ${title}`,
      ...(note ? [note] : []),
      markdownTable(table),
    ]),
    `Correctness overall: **${result.correctnessOk ? "ok" : "FAILED"}**.`,
  ];
  return `${out.join("\n\n")}\n`;
}

/** Writes results.json, summary.md, chart.svg (and soak.svg) into the output directory. */
export async function writeReport(result: BenchResult, outDir: string): Promise<string[]> {
  mkdirSync(outDir, { recursive: true });
  const files: Array<[string, string]> = [
    ["results.json", await format(JSON.stringify(result), { parser: "json", printWidth: 120 })],
    ["summary.md", await format(markdownReport(result), { parser: "markdown", printWidth: 120 })],
    ["chart.svg", await chartSvg(result)],
  ];
  const soakChart = await soakSvg(result);
  if (soakChart) files.push(["soak.svg", soakChart]);
  for (const [name, content] of files) writeFileSync(join(outDir, name), content);
  return files.map(([name]) => join(outDir, name));
}
