/** The results as a console table, a markdown summary, a JSON file and SVG charts (drawn by hand). */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { format } from "prettier";
import { round } from "./stats";
import { DESIGN_LABELS } from "./system";
import { findRun, phaseOf } from "./targets";
import { costPhases, phaseCost } from "./cost";
import type { BenchResult, DesignId, PhaseResult, ProcessUsage, ScenarioRun } from "./types";

const MiB = (kb: number) => round(kb / 1024, 0);

function usage(p: PhaseResult, match: (u: ProcessUsage) => boolean): ProcessUsage[] {
  return p.processes.filter(match);
}
const isApi = (u: ProcessUsage) => u.name === "api" || u.name.startsWith("api-");
const isWorker = (u: ProcessUsage) => u.name.startsWith("worker-");
const sum = (list: ProcessUsage[], f: (u: ProcessUsage) => number) => round(list.reduce((s, u) => s + f(u), 0));
const max = (list: ProcessUsage[], f: (u: ProcessUsage) => number) => list.reduce((m, u) => Math.max(m, f(u)), 0);

export interface Row {
  scenario: string;
  design: string;
  phase: string;
  cells: Record<string, string | number>;
}

const COLUMNS = [
  "req/s",
  "200/s",
  "409/s",
  "sale /s",
  "orders/s",
  "p50",
  "p95",
  "p99",
  "max",
  "API CPU%",
  "workers CPU%",
  "redis CPU%",
  "mariadb CPU%",
  "bench CPU%",
  "API MiB",
  "workers MiB",
  "redis MiB",
  "mariadb MiB",
  "Redis mem Δ MiB",
  "errors",
  "load avg",
] as const;

/** One row per phase of every run. */
export function rows(result: BenchResult): Row[] {
  const out: Row[] = [];
  for (const run of result.runs) {
    for (const p of run.phases) {
      const phase = p.name.split(" ").slice(1).join(" ");
      const redis = usage(p, (u) => u.name === "redis-server");
      const mysql = usage(p, (u) => u.name === "mariadbd");
      out.push({
        scenario: run.scenario,
        design: run.design,
        phase,
        cells: {
          "req/s": p.requestsPerSecond,
          "200/s": p.okPerSecond,
          "409/s": p.rejectedPerSecond,
          "sale /s": p.saleWindow ? p.saleWindow.completedPerSecond : "",
          "orders/s": p.ordersCompleted ? p.ordersCompleted.perSecond : "",
          p50: p.latencyMs.p50,
          p95: p.latencyMs.p95,
          p99: p.latencyMs.p99,
          max: p.latencyMs.max,
          "API CPU%": sum(usage(p, isApi), (u) => u.cpuPercent),
          "workers CPU%": sum(usage(p, isWorker), (u) => u.cpuPercent),
          "redis CPU%": sum(redis, (u) => u.cpuPercent),
          "mariadb CPU%": sum(mysql, (u) => u.cpuPercent),
          "bench CPU%": p.clientCpuPercent,
          "API MiB": MiB(max(usage(p, isApi), (u) => u.hwmKb)),
          "workers MiB": MiB(max(usage(p, isWorker), (u) => u.hwmKb)),
          "redis MiB": MiB(max(redis, (u) => u.rssPeakKb)),
          "mariadb MiB": MiB(max(mysql, (u) => u.rssPeakKb)),
          "Redis mem Δ MiB": round((p.redisUsedMemory.after - p.redisUsedMemory.before) / 1_048_576, 1),
          "load avg": p.loadAverage ? p.loadAverage.map((l) => round(l, 1)).join("→") : "",
          errors: p.errors + p.pending ? `${p.errors}${p.pending ? ` (+${p.pending} 202)` : ""}` : 0,
        },
      });
    }
  }
  return out;
}

const COST_HEADER = [
  "scenario",
  "design",
  "phase",
  "completed",
  "statements each",
  "transactions each",
  "worker CPU ms per job",
  "write batches: transactions",
  "mean writes each",
  "p50 <=",
  "p90 <=",
  "max <=",
];

function costRows(result: BenchResult): Array<Array<string | number>> {
  return result.runs.flatMap((run) =>
    costPhases(run).flatMap((p) => {
      const cost = phaseCost(p);
      if (!cost) return [];
      const b = run.writeBatches;
      return [
        [
          run.scenario,
          run.design,
          p.name.split(" ").slice(1).join(" "),
          cost.completed,
          cost.statementsPer,
          cost.transactionsPer,
          cost.workerCpuMsPerRequest,
          ...(b ? [b.transactions, b.meanSize, b.p50AtMost, b.p90AtMost, b.maxAtMost] : ["", "", "", "", ""]),
        ],
      ];
    }),
  );
}

function mdTable(header: string[], body: Array<Array<string | number>>): string {
  const line = (cells: Array<string | number>) => `| ${cells.map((c) => String(c)).join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...body.map(line)].join("\n");
}

function textTable(header: string[], body: Array<Array<string | number>>): string {
  const all = [header, ...body.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...all.map((r) => String(r[i] ?? "").length)));
  return all.map((r) => r.map((c, i) => String(c).padStart(widths[i] ?? 0)).join("  ")).join("\n");
}

const passText = (pass: boolean | null) => (pass === null ? "n/a" : pass ? "PASS" : "FAIL");

function checksRows(result: BenchResult): Array<Array<string | number>> {
  return result.runs.map((r) => [
    r.scenario,
    r.design,
    r.checks.oversoldUnits,
    String(r.checks.conservation),
    r.checks.redisMatchesMysql === null ? "n/a" : String(r.checks.redisMatchesMysql),
    r.checks.completedOrders,
    r.checks.failedOrders,
    r.checks.pendingOrders,
    r.checks.paymentMismatches,
    String(r.checks.answersAgree),
    r.checks.ok ? "ok" : `FAIL: ${r.checks.violations.slice(0, 3).join("; ")}`,
  ]);
}

const CHECK_HEADER = [
  "scenario",
  "design",
  "oversold units",
  "conservation",
  "Redis = MySQL",
  "completed",
  "failed",
  "pending",
  "payment mismatches",
  "answers agree",
  "checks",
];

export function consoleReport(result: BenchResult): string {
  const r = rows(result);
  // The markdown report's columns up to the API's memory, and the errors.
  const short = [...COLUMNS.slice(0, COLUMNS.indexOf("API MiB") + 1), "errors"] as const;
  const parts = [
    `\nResults (${result.form} form; latency in ms; CPU in % of one core)\n`,
    textTable(
      ["scenario", "design", "phase", ...short],
      r.map((x) => [x.scenario, x.design, x.phase, ...short.map((c) => x.cells[c] ?? "")]),
    ),
    "\nCorrectness\n",
    textTable(CHECK_HEADER, checksRows(result)),
  ];
  if (result.ceilings.length)
    parts.push(
      "\nCeilings (each bottleneck alone)\n",
      textTable(
        ["ceiling", "ops/s", "p50", "p99", "server CPU%", "bench CPU%", "failures"],
        result.ceilings.map((c) => [
          c.name,
          c.opsPerSecond,
          c.latencyMs.p50,
          c.latencyMs.p99,
          c.serverCpuPercent,
          c.clientCpuPercent,
          c.failures,
        ]),
      ),
    );
  if (result.scale.length)
    parts.push(
      "\nHorizontal scale of the API (same offered load)\n",
      textTable(
        [
          "API processes",
          "target/s",
          "done req/s",
          "p50",
          "p99",
          "CPU% per API",
          "API CPU% total",
          "API CPU ms/req",
          "workers CPU%",
        ],
        result.scale.map((s) => [
          s.apiProcesses,
          s.targetRate,
          s.phase.requestsPerSecond,
          s.phase.latencyMs.p50,
          s.phase.latencyMs.p99,
          s.apiCpuPercent.join(" / "),
          s.apiCpuPercentTotal,
          s.apiCpuMsPerRequest,
          s.workersCpuPercent,
        ]),
      ),
    );
  if (result.soak)
    parts.push(
      `\nSoak: ${result.soak.minutes} min at ${result.soak.targetSessionsPerSecond} sessions/s (first vs last ${result.soak.windowSeconds}s)\n`,
      textTable(
        ["series", "first", "last", "delta", "%"],
        result.soak.growth.map((g) => [`${g.series} (${g.unit})`, g.first, g.last, g.delta, g.percent]),
      ),
    );
  parts.push(
    "\nTargets (ratios from this run)\n",
    textTable(
      ["target", "ratio", "needs", "result"],
      result.targets.map((t) => [t.name, t.ratio ?? "-", `${t.direction} ${t.threshold}`, passText(t.pass)]),
    ),
    `\nCorrectness overall: ${result.correctnessOk ? "ok" : "FAILED"}`,
  );
  return parts.join("\n");
}

export function markdownReport(result: BenchResult): string {
  const m = result.machine;
  const r = rows(result);
  const out: string[] = [];
  out.push(`# Benchmark results (${result.form} form)`);
  out.push(
    `Run ${m.startedAt} to ${m.finishedAt} with \`npm run bench${result.form === "quick" ? " -- --quick" : ""}\`. See docs/benchmark.md for what each figure means.`,
  );
  out.push("## Machine");
  out.push(
    mdTable(
      ["nproc", "CPU", "memory", "node", "OS", "Redis", "MariaDB", "load average (start / end)"],
      [
        [
          m.nproc,
          m.cpuModel,
          `${m.memoryGb} GB`,
          m.node,
          m.os,
          m.redisVersion,
          m.mysqlVersion,
          `${m.loadAverageStart} / ${m.loadAverageEnd}`,
        ],
      ],
    ),
  );
  out.push(
    "The machine is shared: other work ran beside the benchmark (see the load average), Redis and MariaDB serve other clients too, and the load generator runs on the same two cores as the system. Compare designs within this run, not across runs.",
  );
  out.push("## Settings");
  out.push(
    mdTable(
      ["setting", "value"],
      Object.entries(result.settings).map(([k, v]) => [k, String(v)]),
    ),
  );
  out.push("## Targets");
  out.push(
    mdTable(
      ["target", "ratio", "needs", "result", "figures"],
      result.targets.map((t) => [
        t.name,
        t.ratio ?? "-",
        `${t.direction} ${t.threshold}`,
        `**${passText(t.pass)}**`,
        t.detail,
      ]),
    ),
  );
  out.push("## Scenarios");
  for (const run of uniqueScenarios(result.runs)) {
    out.push(`### ${run.scenario}`);
    out.push(
      `Parameters: ${Object.entries(run.params)
        .map(([k, v]) => `${k} ${v}`)
        .join(", ")}.`,
    );
  }
  out.push("## Throughput, latency, CPU and memory per phase");
  out.push(
    "Latency in ms. `load avg`: the machine's 1-minute load average at the start and end of the phase (2 cores; the machine is shared). CPU in % of one core over the phase (redis-server and mariadbd include other clients of the shared servers). Memory: API and workers VmHWM (peak since the process started), redis-server and mariadbd highest sampled VmRSS; Redis mem Δ: INFO used_memory after minus before the phase. `sale /s`: completed checkouts per second from the start until the last unit was sold; `orders/s`: orders completed per second until the last one completed (both from MySQL's completed_at, so checkouts answered 202 Pending that completed later count; the no-op floor writes no orders, its sale window counts 200 answers).",
  );
  out.push(
    mdTable(
      ["scenario", "design", "phase", ...COLUMNS],
      r.map((x) => [x.scenario, x.design, x.phase, ...COLUMNS.map((c) => x.cells[c] ?? "")]),
    ),
  );
  const soldOut = result.runs.filter((x) => x.soldOut);
  if (soldOut.length) {
    out.push("## Sold-out answers against the plain route");
    out.push(
      mdTable(
        [
          "design",
          "sold-out req/s",
          "sold-out p99 ms",
          "GET /healthz req/s",
          "healthz p99 ms",
          "ratio",
          "API CPU% (sold-out / healthz)",
        ],
        soldOut.map((x) => {
          const s = x.soldOut;
          if (!s) return [];
          const api = (p: PhaseResult) => sum(usage(p, isApi), (u) => u.cpuPercent);
          return [
            x.design,
            s.soldOut.requestsPerSecond,
            s.soldOut.latencyMs.p99,
            s.healthz.requestsPerSecond,
            s.healthz.latencyMs.p99,
            round(s.ratio, 2),
            `${api(s.soldOut)} / ${api(s.healthz)}`,
          ];
        }),
      ),
    );
  }
  out.push("## What a checkout costs");
  out.push(
    "Per completed checkout (orders in MySQL; the floor: 200 answers) or added item, over the phase: SQL statements (MariaDB `Questions`, the benchmark's own left out; the flush and the reconciler included) and transactions (`Com_commit`); worker CPU per job (both worker processes). Group commit: writes per MySQL transaction of the workers over the whole run (`oms_write_batch_size`; quantiles are histogram bucket bounds).",
  );
  out.push(mdTable(COST_HEADER, costRows(result)));
  out.push("## Correctness");
  out.push(mdTable(CHECK_HEADER, checksRows(result)));
  const waits = result.runs.flatMap((run) =>
    run.phases.flatMap((p) =>
      (p.lockWaits ?? [])
        .slice(0, 3)
        .map((w) => [
          `${run.scenario}/${run.design} ${p.name.split(" ").slice(1).join(" ")}`,
          w.samples,
          `${w.table} (${w.index}, ${w.mode})`,
          `\`${w.waiting.replace(/`/g, "")}\``,
          `\`${w.blocking.replace(/`/g, "")}\``,
        ]),
    ),
  );
  if (waits.length) {
    out.push("## MySQL row-lock waits (sampled 4 times a second)");
    out.push(
      "Each sample lists every transaction of the run's database waiting for a row lock: the statement that waits, the lock it wants, and what the transaction holding it is running at that moment. Top three per phase.",
    );
    out.push(mdTable(["phase", "samples", "lock (index, mode)", "waiting statement", "holder is running"], waits));
  }
  if (result.ceilings.length) {
    out.push("## Ceilings: each design's bottleneck alone");
    out.push(
      mdTable(
        ["ceiling", "what", "ops/s", "p50 ms", "p99 ms", "server CPU%", "bench CPU%", "failures"],
        result.ceilings.map((c) => [
          c.name,
          c.description,
          c.opsPerSecond,
          c.latencyMs.p50,
          c.latencyMs.p99,
          c.serverCpuPercent,
          c.clientCpuPercent,
          c.failures,
        ]),
      ),
    );
  }
  if (result.scale.length) {
    out.push("## Horizontal scale of the API");
    out.push(
      mdTable(
        [
          "API processes",
          "offered checkouts/s",
          "answered req/s",
          "orders/s",
          "p50 ms",
          "p99 ms",
          "CPU% of each API process",
          "API CPU% total",
          "API CPU ms per request",
          "workers CPU%",
          "checks",
        ],
        result.scale.map((s) => [
          s.apiProcesses,
          s.targetRate,
          s.phase.requestsPerSecond,
          s.phase.ordersCompleted?.perSecond ?? "",
          s.phase.latencyMs.p50,
          s.phase.latencyMs.p99,
          s.apiCpuPercent.join(" / "),
          s.apiCpuPercentTotal,
          s.apiCpuMsPerRequest,
          s.workersCpuPercent,
          s.checksOk ? "ok" : "FAIL",
        ]),
      ),
    );
  }
  if (result.soak) {
    const s = result.soak;
    out.push("## Memory soak");
    out.push(
      `${s.minutes} min at ${s.targetSessionsPerSecond} sessions/s (each a new client: 1-3 adds, then a checkout); ${s.phase.requestsPerSecond} req/s answered, p99 ${s.phase.latencyMs.p99} ms, ${s.phase.errors} errors. Growth: mean of the last ${s.windowSeconds}s against the first ${s.windowSeconds}s. Chart: soak.svg.`,
    );
    out.push(
      mdTable(
        ["series", "first", "last", "delta", "growth %"],
        s.growth.map((g) => [`${g.series} (${g.unit})`, g.first, g.last, g.delta, g.percent]),
      ),
    );
    out.push(
      `Keys under the run's prefix: ${s.prefixKeys.first} -> ${s.prefixKeys.last} (${Object.entries(s.keyKinds)
        .slice(0, 8)
        .map(([k, n]) => `${k} ${n}`)
        .join(", ")}). Rows: ${Object.entries(s.tableRows)
        .map(([t, v]) => `${t} ${v.first} -> ${v.last}`)
        .join(", ")}. Checks after the soak: ${s.checks.ok ? "ok" : `FAIL: ${s.checks.violations.join("; ")}`}.`,
    );
  }
  for (const p of result.profile) {
    out.push(`## API CPU profile: ${p.window}`);
    out.push(`${p.totalMs} ms of CPU samples (idle excluded) from \`${p.file}\`.`);
    out.push(
      mdTable(
        ["area", "self ms", "%"],
        p.byArea.slice(0, 12).map((a) => [a.area, a.selfMs, a.percent]),
      ),
    );
    out.push(
      mdTable(
        ["function", "where", "self ms", "%"],
        p.topFunctions.slice(0, 15).map((f) => [`\`${f.name}\``, f.where, f.selfMs, f.percent]),
      ),
    );
  }
  out.push(`Correctness overall: **${result.correctnessOk ? "ok" : "FAILED"}**.`);
  return `${out.join("\n\n")}\n`;
}

function uniqueScenarios(runs: ScenarioRun[]): ScenarioRun[] {
  const seen = new Set<string>();
  return runs.filter((r) => !seen.has(r.scenario) && seen.add(r.scenario));
}

// --- SVG ---------------------------------------------------------------------------

const COLORS: Record<string, string> = {
  redis: "#1f77b4",
  "redis-nolimit": "#6baed6",
  "mysql-locking": "#d62728",
  "mysql-batched": "#ff7f0e",
  noop: "#7f7f7f",
  healthz: "#2ca02c",
};

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

interface Bar {
  label: string;
  key: string;
  value: number;
  text: string;
}

interface Group {
  title: string;
  bars: Bar[];
}

function throughputGroups(result: BenchResult): Group[] {
  const designs = result.settings.designs ? String(result.settings.designs).split(",") : [];
  const groups: Group[] = [];
  const add = (title: string, bars: Array<Bar | null>) => {
    const list = bars.filter((b): b is Bar => b !== null && Number.isFinite(b.value));
    if (list.length) groups.push({ title, bars: list });
  };
  const bar = (
    d: string,
    value: number | undefined,
    unit: string,
    label = DESIGN_LABELS[d as DesignId] ?? d,
  ): Bar | null => (value === undefined ? null : { label, key: d, value, text: `${value} ${unit}` });
  add(
    "Flash sale: completed checkouts/s while stock lasts",
    designs.map((d) =>
      bar(
        d,
        phaseOf(findRun(result.runs, "flash-sale", d as DesignId), "checkout")?.saleWindow?.completedPerSecond,
        "/s",
      ),
    ),
  );
  add(
    "Flash sale: add-to-cart answers/s",
    designs.map((d) =>
      bar(d, phaseOf(findRun(result.runs, "flash-sale", d as DesignId), "add")?.requestsPerSecond, "/s"),
    ),
  );
  add(
    "Sold out: checkout answers/s vs GET /healthz of the same process",
    designs.flatMap((d) => {
      const s = findRun(result.runs, "flash-sale", d as DesignId)?.soldOut;
      if (!s) return [];
      return [
        bar(d, s.soldOut.requestsPerSecond, "/s", `${DESIGN_LABELS[d as DesignId]}: sold-out`),
        bar("healthz", s.healthz.requestsPerSecond, "/s", `${DESIGN_LABELS[d as DesignId]}: healthz`),
      ];
    }),
  );
  add(
    "Carts of three hot products: completed checkouts/s",
    designs.map((d) =>
      bar(d, phaseOf(findRun(result.runs, "hot-3", d as DesignId), "checkout")?.saleWindow?.completedPerSecond, "/s"),
    ),
  );
  add(
    "Wide catalog (1-5 lines): completed checkouts/s",
    designs.map((d) =>
      bar(d, phaseOf(findRun(result.runs, "wide-catalog", d as DesignId), "checkout")?.okPerSecond, "/s"),
    ),
  );
  add(
    "Add to cart only: answers/s",
    designs.map((d) =>
      bar(d, phaseOf(findRun(result.runs, "add-only", d as DesignId), "add")?.requestsPerSecond, "/s"),
    ),
  );
  if (result.ceilings.length)
    add(
      "Ceilings at the bottleneck alone: ops/s",
      result.ceilings.map((c) => ({
        label: c.name,
        key: c.name.startsWith("redis") ? "redis" : "mysql-locking",
        value: c.opsPerSecond,
        text: `${c.opsPerSecond} /s`,
      })),
    );
  return groups;
}

interface LatencyRow {
  label: string;
  key: string;
  p50: number;
  p95: number;
  p99: number;
}

function latencyRows(result: BenchResult): LatencyRow[] {
  const out: LatencyRow[] = [];
  for (const run of result.runs) {
    for (const p of run.phases) {
      if (!/ (checkout|add|sold-out)$/.test(p.name)) continue;
      out.push({
        label: `${run.scenario} ${p.name.split(" ").slice(1).join(" ")} - ${run.design}`,
        key: run.design,
        p50: p.latencyMs.p50,
        p95: p.latencyMs.p95,
        p99: p.latencyMs.p99,
      });
    }
  }
  return out;
}

export function chartSvg(result: BenchResult): string {
  const width = 1100;
  const labelW = 330;
  const barMax = width - labelW - 150;
  const rowH = 18;
  const parts: string[] = [];
  let y = 40;
  parts.push(
    `<text x="20" y="26" font-size="18" font-weight="bold">Throughput per design (bars scaled within each group; ${esc(result.machine.cpuModel)}, ${result.machine.nproc} cores, ${result.form} form)</text>`,
  );
  for (const g of throughputGroups(result)) {
    y += 14;
    parts.push(`<text x="20" y="${y}" font-size="14" font-weight="bold">${esc(g.title)}</text>`);
    y += 6;
    const top = Math.max(...g.bars.map((b) => b.value), 1);
    for (const b of g.bars) {
      const w = Math.max(1, (b.value / top) * barMax);
      parts.push(
        `<text x="${labelW - 8}" y="${y + 13}" font-size="12" text-anchor="end">${esc(b.label)}</text>`,
        `<rect x="${labelW}" y="${y + 2}" width="${w.toFixed(1)}" height="${rowH - 4}" fill="${COLORS[b.key] ?? "#999"}"/>`,
        `<text x="${(labelW + w + 6).toFixed(1)}" y="${y + 13}" font-size="12">${esc(b.text)}</text>`,
      );
      y += rowH;
    }
  }
  y += 30;
  parts.push(
    `<text x="20" y="${y}" font-size="18" font-weight="bold">Latency per phase and design (log scale, ms): p50 dark, p95 medium, p99 light</text>`,
  );
  y += 14;
  const rowsL = latencyRows(result);
  const maxMs = Math.max(10, ...rowsL.map((r) => r.p99));
  const minLog = 0; // 1 ms
  const maxLog = Math.ceil(Math.log10(maxMs));
  const xOf = (ms: number) => labelW + ((Math.log10(Math.max(ms, 1)) - minLog) / (maxLog - minLog || 1)) * barMax;
  const axisTop = y;
  for (const r of rowsL) {
    const color = COLORS[r.key] ?? "#999";
    parts.push(
      `<text x="${labelW - 8}" y="${y + 13}" font-size="12" text-anchor="end">${esc(r.label)}</text>`,
      `<rect x="${labelW}" y="${y + 2}" width="${(xOf(r.p99) - labelW).toFixed(1)}" height="${rowH - 4}" fill="${color}" fill-opacity="0.3"/>`,
      `<rect x="${labelW}" y="${y + 2}" width="${(xOf(r.p95) - labelW).toFixed(1)}" height="${rowH - 4}" fill="${color}" fill-opacity="0.6"/>`,
      `<rect x="${labelW}" y="${y + 2}" width="${(xOf(r.p50) - labelW).toFixed(1)}" height="${rowH - 4}" fill="${color}"/>`,
      `<text x="${(xOf(r.p99) + 6).toFixed(1)}" y="${y + 13}" font-size="11">${r.p50} / ${r.p95} / ${r.p99}</text>`,
    );
    y += rowH;
  }
  for (let e = minLog; e <= maxLog; e++) {
    const x = xOf(10 ** e).toFixed(1);
    parts.push(
      `<line x1="${x}" y1="${axisTop}" x2="${x}" y2="${y + 4}" stroke="#ccc" stroke-dasharray="3,3"/>`,
      `<text x="${x}" y="${y + 18}" font-size="11" text-anchor="middle">${10 ** e} ms</text>`,
    );
  }
  y += 30;
  return svg(width, y, parts);
}

export function soakSvg(result: BenchResult): string | null {
  const soak = result.soak;
  if (!soak || soak.samples.length < 2) return null;
  const width = 1000;
  const height = 460;
  const left = 70;
  const right = 230;
  const top = 50;
  const bottom = 60;
  const names = Object.keys(soak.samples[0]?.rssKb ?? {});
  const series = [
    ...names.map((n) => ({ name: `${n} RSS`, values: soak.samples.map((s) => (s.rssKb[n] ?? 0) / 1024) })),
    { name: "Redis used_memory", values: soak.samples.map((s) => s.redisUsedMemory / 1_048_576) },
  ];
  const tMax = Math.max(...soak.samples.map((s) => s.t), 1);
  const vMax = Math.max(...series.flatMap((s) => s.values), 1) * 1.1;
  const x = (t: number) => left + (t / tMax) * (width - left - right);
  const yv = (v: number) => height - bottom - (v / vMax) * (height - top - bottom);
  const palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"];
  const parts: string[] = [
    `<text x="20" y="28" font-size="18" font-weight="bold">Soak: memory over ${soak.minutes} min at ${soak.targetSessionsPerSecond} sessions/s (MiB)</text>`,
    `<line x1="${left}" y1="${height - bottom}" x2="${width - right}" y2="${height - bottom}" stroke="#333"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${height - bottom}" stroke="#333"/>`,
  ];
  for (let i = 0; i <= 5; i++) {
    const v = (vMax / 5) * i;
    parts.push(
      `<text x="${left - 6}" y="${(yv(v) + 4).toFixed(1)}" font-size="11" text-anchor="end">${round(v, 0)}</text>`,
      `<line x1="${left}" y1="${yv(v).toFixed(1)}" x2="${width - right}" y2="${yv(v).toFixed(1)}" stroke="#eee"/>`,
    );
    const t = (tMax / 5) * i;
    parts.push(
      `<text x="${x(t).toFixed(1)}" y="${height - bottom + 18}" font-size="11" text-anchor="middle">${round(t / 60, 1)} min</text>`,
    );
  }
  series.forEach((s, i) => {
    const color = palette[i % palette.length] ?? "#333";
    const points = s.values.map((v, j) => `${x(soak.samples[j]?.t ?? 0).toFixed(1)},${yv(v).toFixed(1)}`).join(" ");
    parts.push(
      `<polyline fill="none" stroke="${color}" stroke-width="2" points="${points}"/>`,
      `<rect x="${width - right + 15}" y="${top + i * 20}" width="12" height="12" fill="${color}"/>`,
      `<text x="${width - right + 32}" y="${top + i * 20 + 11}" font-size="12">${esc(s.name)}</text>`,
    );
  });
  return svg(width, height, parts);
}

function svg(width: number, height: number, parts: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    ...parts,
    "</svg>",
    "",
  ].join("\n");
}

/** Writes results.json, summary.md, chart.svg (and soak.svg) into the output directory. */
export async function writeReport(result: BenchResult, outDir: string): Promise<string[]> {
  mkdirSync(outDir, { recursive: true });
  const files: Array<[string, string]> = [
    ["results.json", await format(JSON.stringify(result), { parser: "json", printWidth: 120 })],
    ["summary.md", await format(markdownReport(result), { parser: "markdown", printWidth: 120 })],
    ["chart.svg", chartSvg(result)],
  ];
  const soak = soakSvg(result);
  if (soak) files.push(["soak.svg", soak]);
  for (const [name, content] of files) writeFileSync(join(outDir, name), content);
  return files.map(([name]) => join(outDir, name));
}
