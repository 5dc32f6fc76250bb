/** The results as a markdown summary (printed too), a JSON file and the charts (charts.ts). */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { format } from "prettier";
import { chartSvg, soakSvg } from "./charts";
import { cpuOf, isApi, isWorker, round, type Match } from "./stats";
import { phaseCost, type PhaseCost } from "./targets";
import type { BenchResult, PhaseResult, ProcessUsage, ScenarioRun, WriteBatches } from "./types";

type Cell = string | number | boolean;
/** A column: its header and how a row's cell is read. */
type Column<T> = [string, (row: T) => Cell];
/** A markdown table of `rows`; "" when there are none. */
function table<T>(rows: T[], columns: Array<Column<T>>): string {
  const [header, cells] = [columns.map(([h]) => h), rows.map((r) => columns.map(([, f]) => f(r)))];
  return rows.length === 0 ? "" : markdownTable(header, cells);
}

const MiB = (kb: number) => round(kb / 1024, 0);
const named = (name: string) => (u: ProcessUsage) => u.name === name;
const cpu = (p: PhaseResult, match: Match) => round(cpuOf(p, match));
const mem = (p: PhaseResult, match: Match, peak: "hwm" | "rss") =>
  MiB(p.processes.filter(match).reduce((m, u) => Math.max(m, peak === "hwm" ? u.hwmKb : u.rssPeakKb), 0));
const PARTS = Object.entries({
  API: isApi,
  workers: isWorker,
  redis: named("redis-server"),
  mariadb: named("mariadbd"),
});
/** "flash-sale/redis add" -> "add". */
export const phaseName = (p: PhaseResult) => p.name.split(" ").slice(1).join(" ");

/** Every phase of every run, with its run. */
export const runPhases = (result: BenchResult) => result.runs.flatMap((run) => run.phases.map((p) => ({ run, p })));
type RunPhase = ReturnType<typeof runPhases>[number];
const RUN: Array<Column<RunPhase>> = [
  ["scenario", ({ run }) => run.scenario],
  ["design", ({ run }) => run.design],
  ["phase", ({ p }) => phaseName(p)],
];

const COLUMNS: Array<Column<RunPhase>> = [
  ...RUN,
  ["req/s", ({ p }) => p.requestsPerSecond],
  ["200/s", ({ p }) => p.okPerSecond],
  ["409/s", ({ p }) => p.rejectedPerSecond],
  ["sale /s", ({ p }) => p.saleWindow?.completedPerSecond ?? ""],
  ["orders/s", ({ p }) => p.ordersCompleted?.perSecond ?? ""],
  ...(["p50", "p95", "p99", "max"] as const).map((q): Column<RunPhase> => [q, ({ p }) => p.latencyMs[q]]),
  ...PARTS.map(([part, match]): Column<RunPhase> => [`${part} CPU%`, ({ p }) => cpu(p, match)]),
  ["bench CPU%", ({ p }) => p.clientCpuPercent],
  // API and workers: VmHWM (their peak since they started); the servers: the highest sampled VmRSS.
  ...PARTS.map(([part, match], i): Column<RunPhase> => [
    `${part} MiB`,
    ({ p }) => mem(p, match, i < 2 ? "hwm" : "rss"),
  ]),
  ["Redis mem Δ MiB", ({ p }) => round((p.redisUsedMemory.after - p.redisUsedMemory.before) / 1_048_576, 1)],
  ["errors", ({ p }) => (p.errors + p.pending ? `${p.errors}${p.pending ? ` (+${p.pending} 202)` : ""}` : 0)],
  ["load avg", ({ p }) => (p.loadAverage ? p.loadAverage.map((l) => round(l, 1)).join("→") : "")],
];

const CHECKS: Array<Column<ScenarioRun>> = [
  ["scenario", (r) => r.scenario],
  ["design", (r) => r.design],
  ["oversold units", (r) => r.checks.oversoldUnits],
  ["conservation", (r) => String(r.checks.conservation)],
  ["Redis = MySQL", (r) => String(r.checks.redisMatchesMysql ?? "n/a")],
  ["completed", (r) => r.checks.completedOrders],
  ["failed", (r) => r.checks.failedOrders],
  ["answers agree", (r) => String(r.checks.answersAgree)],
  ["checks", (r) => (r.checks.ok ? "ok" : `FAIL: ${r.checks.violations.slice(0, 3).join("; ")}`)],
];

type Costed = RunPhase & { c: PhaseCost };
function batch(k: keyof WriteBatches): Column<Costed>[1] {
  return ({ run }) => run.writeBatches?.[k] ?? "";
}
const COST: Array<Column<Costed>> = [
  ...RUN,
  ["completed", ({ c }) => c.completed],
  ["statements each", ({ c }) => c.statementsPer],
  ["transactions each", ({ c }) => c.transactionsPer],
  ["worker CPU ms per job", ({ c }) => c.workerCpuMsPerRequest],
  ["write batches: transactions", batch("transactions")],
  ["mean writes each", batch("meanSize")],
  ...(["p50", "p90", "max"] as const).map((q): Column<Costed> => [`${q} <=`, batch(`${q}AtMost`)]),
];

type NodePhase = RunPhase & { n: PhaseResult["redisNodes"][number] };
/** A primary's (or the one server's) share of the commands the primaries processed in the phase. */
function shareOfOps({ p, n }: NodePhase): Cell {
  const served = p.redisNodes.filter((x) => x.role !== "replica").reduce((s, x) => s + x.commands, 0);
  return n.role === "replica" || served === 0 ? "" : round((100 * n.commands) / served);
}
const NODES: Array<Column<NodePhase>> = [
  ...RUN,
  ["node", (r) => r.n.node],
  ["role", (r) => r.n.role],
  ["CPU%", (r) => r.n.cpuPercent],
  ["ops/s", (r) => r.n.opsPerSecond],
  ["share of ops %", shareOfOps],
];
/** The runs whose nodes are listed: our design on one server and on the Cluster, where both ran. */
const NODE_RUNS = new Set(["redis", "redis-cluster"]);
const NODE_SCENARIOS = new Set(["flash-sale", "wide-catalog"]);

const CEILINGS: Array<Column<BenchResult["ceilings"][number]>> = [
  ["ceiling", (c) => c.name],
  ["what", (c) => c.description],
  ["ops/s", (c) => c.opsPerSecond],
  ["p50 ms", (c) => c.latencyMs.p50],
  ["p99 ms", (c) => c.latencyMs.p99],
  ["server CPU%", (c) => c.serverCpuPercent],
  ["bench CPU%", (c) => c.clientCpuPercent],
  ["failures", (c) => c.failures],
];

type ScaleRow = BenchResult["scale"][number];
const SCALE: Array<Column<ScaleRow>> = [
  ["API processes", (s) => s.apiProcesses],
  ["offered checkouts/s", (s) => s.targetRate],
  ["answered req/s", (s) => s.phase.requestsPerSecond],
  ["orders/s", (s) => s.phase.ordersCompleted?.perSecond ?? ""],
  ...(["p50", "p99"] as const).map((q): Column<ScaleRow> => [`${q} ms`, (s) => s.phase.latencyMs[q]]),
  ["CPU% of each API process", (s) => s.apiCpuPercent.join(" / ")],
  ["API CPU% total", (s) => s.apiCpuPercentTotal],
  ["API CPU ms per request", (s) => s.apiCpuMsPerRequest],
  ["workers CPU%", (s) => s.workersCpuPercent],
  ["checks", (s) => (s.checksOk ? "ok" : "FAIL")],
];

type Soak = NonNullable<BenchResult["soak"]>;
type Growth = Soak["growth"][number];
const SOAK: Array<Column<Growth>> = [
  ["series", (g) => `${g.series} (${g.unit})`],
  ...(["first", "last", "delta"] as const).map((k): Column<Growth> => [k, (g) => g[k]]),
  ["growth %", (g) => g.percent],
];

const TARGETS: Array<Column<BenchResult["targets"][number]>> = [
  ["target", (t) => t.name],
  ["ratio", (t) => t.ratio ?? "-"],
  ["needs", (t) => `${t.direction} ${t.threshold}`],
  ["result", (t) => `**${t.pass === null ? "n/a" : t.pass ? "PASS" : "FAIL"}**`],
  ["figures", (t) => t.detail],
];

const SOLD_OUT: Array<Column<ScenarioRun & Required<Pick<ScenarioRun, "soldOut">>>> = [
  ["design", (r) => r.design],
  ["sold-out req/s", (r) => r.soldOut.soldOut.requestsPerSecond],
  ["sold-out p99 ms", (r) => r.soldOut.soldOut.latencyMs.p99],
  ["GET /healthz req/s", (r) => r.soldOut.healthz.requestsPerSecond],
  ["healthz p99 ms", (r) => r.soldOut.healthz.latencyMs.p99],
  ["ratio", (r) => round(r.soldOut.ratio, 2)],
  ["API CPU% (sold-out / healthz)", (r) => `${cpu(r.soldOut.soldOut, isApi)} / ${cpu(r.soldOut.healthz, isApi)}`],
];

function markdownTable(header: string[], rows: Cell[][]): string {
  const line = (cells: Cell[]) => `| ${cells.map((c) => String(c)).join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

/** A titled table, with a paragraph before it and one after it (empty: none). */
type Section = [title: string, before: string, table: string, after?: string];

/** Titled sections of the report, each a table with a sentence on what it shows; empty tables are left out. */
function sections(result: BenchResult): Section[] {
  const s = result.soak;
  const phases = runPhases(result);
  const costed = phases.flatMap(({ run, p }) => [phaseCost(p)].flatMap((c) => (c ? [{ run, p, c }] : [])));
  const soldOut = result.runs.flatMap((r) => (r.soldOut ? [{ ...r, soldOut: r.soldOut }] : []));
  const nodes = phases
    .filter(({ run }) => NODE_RUNS.has(run.design) && NODE_SCENARIOS.has(run.scenario))
    .flatMap((rp) => rp.p.redisNodes.map((n) => ({ ...rp, n })));
  const all: Section[] = [
    ["Targets", "", table(result.targets, TARGETS)],
    ["Throughput, latency, CPU and memory per phase", PHASES_NOTE, table(phases, COLUMNS)],
    ["Sold-out answers against the plain route", "", table(soldOut, SOLD_OUT)],
    ["Redis load per node", NODES_NOTE, table(nodes, NODES)],
    ["What a checkout costs", COST_NOTE, table(costed, COST)],
    ["Correctness", "", table(result.runs, CHECKS)],
    ["Ceilings: each design's bottleneck alone", "", table(result.ceilings, CEILINGS)],
    ["Horizontal scale of the API", "", table(result.scale, SCALE)],
    ["Memory soak", s ? soakNote(s) : "", table(s?.growth ?? [], SOAK), s ? soakAfter(s) : ""],
  ];
  return all.filter(([, , t]) => t !== "");
}

const PHASES_NOTE =
  "Latency in ms. `load avg`: the machine's 1-minute load average at the start and end of the phase (2 cores; the machine is shared). CPU in % of one core over the phase (redis-server and mariadbd include other clients of the shared servers). Memory: API and workers VmHWM (peak since the process started), redis-server and mariadbd highest sampled VmRSS; Redis mem Δ: INFO used_memory after minus before the phase. `sale /s`: completed checkouts per second from the start until the last unit was sold; `orders/s`: orders completed per second until the last one completed (both from MySQL's completed_at, so checkouts answered 202 Pending that completed later count; the no-op floor writes no orders, its sale window counts 200 answers).";
const NODES_NOTE =
  "Each redis-server of the run (the benchmark's own: one, or the Cluster's three primaries and their replicas) over the phase: CPU in % of one core (pidusage), commands per second (INFO `total_commands_processed` delta, the benchmark's own INFO calls left out; a replica's are its replication stream) and the node's share of the commands the primaries processed. On two cores the Cluster adds no capacity; the shares show how the keys spread.";
const COST_NOTE =
  "Per completed checkout (orders in MySQL; the floor: 200 answers) or added item, over the phase: SQL statements (MariaDB `Questions`, the benchmark's own left out; the flush and the reconciler included) and transactions (`Com_commit`); worker CPU per job (both worker processes). Group commit: writes per MySQL transaction of the workers over the whole run (`oms_write_batch_size`; quantiles are histogram bucket bounds).";

const soakNote = (s: Soak) =>
  `${s.minutes} min at ${s.targetSessionsPerSecond} sessions/s (each a new client: 1-3 adds, then a checkout); ${s.phase.requestsPerSecond} req/s answered, p99 ${s.phase.latencyMs.p99} ms, ${s.phase.errors} errors. Growth: mean of the last ${s.windowSeconds}s against the first ${s.windowSeconds}s. Chart: soak.svg.`;

function soakAfter(s: Soak): string {
  const rows = Object.entries(s.tableRows).map(([t, v]) => `${t} ${v.first} -> ${v.last}`);
  return `Keys under the run's prefix: ${s.prefixKeys.first} -> ${s.prefixKeys.last}. Rows: ${rows.join(", ")}. Checks after the soak: ${s.checks.ok ? "ok" : `FAIL: ${s.checks.violations.join("; ")}`}.`;
}

const MACHINE = ["nproc", "CPU", "memory", "node", "OS", "Redis", "MariaDB", "load average (start / end)"];

function markdownReport(result: BenchResult): string {
  const m = result.machine;
  const machine = [m.nproc, m.cpuModel, `${m.memoryGb} GB`, m.node, m.os, m.redisVersion, m.mysqlVersion];
  const parameters = (params: Record<string, unknown>) => Object.entries(params).map(([k, v]) => `${k} ${String(v)}`);
  const scenarios = [...new Map(result.runs.map((r) => [r.scenario, r.params]))].flatMap(([id, params]) => [
    `### ${id}`,
    `Parameters: ${parameters(params).join(", ")}.`,
  ]);
  const out = [
    `# Benchmark results (${result.form} form)`,
    `Run ${m.startedAt} to ${m.finishedAt} with \`npm run bench${result.form === "quick" ? " -- --quick" : ""}\`. See docs/benchmark.md for what each figure means.`,
    "## Machine",
    markdownTable(MACHINE, [[...machine, `${m.loadAverageStart} / ${m.loadAverageEnd}`]]),
    "The machine is shared: other work ran beside the benchmark (see the load average), Redis and MariaDB serve other clients too, and the load generator runs on the same two cores as the system. Compare designs within this run, not across runs.",
    "## Settings",
    markdownTable(["setting", "value"], Object.entries(result.settings)),
    // The targets first, then the scenarios' parameters, then every other table.
    ...sections(result).flatMap(([title, note, table, after]) => [
      `## ${title}`,
      ...(note ? [note] : []),
      table,
      ...(after ? [after] : []),
      ...(title === "Targets" ? ["## Scenarios", ...scenarios] : []),
    ]),
    `Correctness overall: **${result.correctnessOk ? "ok" : "FAILED"}**.`,
  ];
  return `${out.join("\n\n")}\n`;
}

/** summary.md: the machine, the settings and every table (the CLI prints it too). */
export const summary = (result: BenchResult) => format(markdownReport(result), { parser: "markdown", printWidth: 120 });

/** Writes results.json (unless re-rendering), summary.md, chart.svg and soak.svg into the output directory. */
export async function writeReport(result: BenchResult, outDir: string, withJson = true): Promise<string[]> {
  mkdirSync(outDir, { recursive: true });
  const files = {
    "results.json": withJson ? await format(JSON.stringify(result), { parser: "json", printWidth: 120 }) : null,
    "summary.md": await summary(result),
    "chart.svg": await chartSvg(result),
    "soak.svg": await soakSvg(result),
  };
  const written = Object.entries(files).flatMap(([name, text]) => (text === null ? [] : [[join(outDir, name), text]]));
  for (const [path = "", text = ""] of written) writeFileSync(path, text);
  return written.map(([path = ""]) => path);
}
