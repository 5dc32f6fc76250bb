/** The charts of a run, as Vega-Lite specs rendered to SVG: throughput and latency per design, memory over the soak. */
import { None, View, logger, parse } from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import { phaseName, runPhases } from "./report";
import { designLabel } from "./system";
import type { BenchResult, PhaseResult, ScenarioId } from "./types";

const COLORS = {
  ...{ redis: "#1f77b4", "redis-cluster": "#9467bd", "redis-nolimit": "#6baed6", "mysql-locking": "#d62728" },
  ...{ "mysql-batched": "#ff7f0e", noop: "#7f7f7f", healthz: "#2ca02c" },
};
const scale = { domain: Object.keys(COLORS), range: Object.values(COLORS) };
const color = { field: "key", type: "nominal", scale, legend: null };
const sale = (p: PhaseResult) => p.saleWindow?.completedPerSecond;
const answered = (p: PhaseResult) => p.requestsPerSecond;

/** Each group's bars: a figure of some phases of one scenario, per design. */
const GROUPS: Array<[string, ScenarioId, string[], (p: PhaseResult) => number | undefined]> = [
  ["Flash sale: completed checkouts/s while stock lasts", "flash-sale", ["checkout"], sale],
  ["Flash sale: add-to-cart answers/s", "flash-sale", ["add"], answered],
  ["Sold out: checkout answers/s vs GET /healthz of the same process", "flash-sale", ["sold-out", "healthz"], answered],
  ["Carts of three hot products: completed checkouts/s", "hot-3", ["checkout"], sale],
  ["Wide catalog (1-5 lines): completed checkouts/s", "wide-catalog", ["checkout"], (p) => p.okPerSecond],
  ["Add to cart only: answers/s", "add-only", ["add"], answered],
];
const HEADER = { labelOrient: "top", labelAngle: 0, labelAnchor: "start", labelFontWeight: "bold", labelFontSize: 12 };
const SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";

async function render(spec: TopLevelSpec): Promise<string> {
  // Quiet: vega-lite warns about independent scales in a facet, which is what the groups want.
  return new View(parse(compile(spec, { logger: logger(None) }).spec), { renderer: "none" }).toSVG();
}

export async function chartSvg(result: BenchResult): Promise<string> {
  const phases = runPhases(result);
  const bars = GROUPS.flatMap(([group, scenario, names, figure]) =>
    phases
      .filter(({ run, p }) => run.scenario === scenario && names.includes(phaseName(p)))
      .map(({ run, p }) => {
        const label = designLabel(run.design) + (names.length > 1 ? `: ${phaseName(p)}` : "");
        return { group, label, key: phaseName(p) === "healthz" ? "healthz" : run.design, value: figure(p) };
      }),
  ).filter((b) => b.value !== undefined);
  const ceilings = result.ceilings.map((c) => ({
    ...{ group: "Ceilings at the bottleneck alone: ops/s", label: c.name, value: c.opsPerSecond },
    key: c.name.startsWith("redis") ? "redis" : "mysql-locking",
  }));
  const latency = phases.flatMap(({ run, p }) =>
    /^(checkout|add|sold-out)$/.test(phaseName(p))
      ? [{ label: `${run.scenario} ${phaseName(p)} - ${run.design}`, key: run.design, ...p.latencyMs }]
      : [],
  );
  const y = { field: "label", type: "nominal", sort: null, title: null, axis: { labelLimit: 320 } };
  const ms = (field: string) => ({ field, type: "quantitative", scale: { type: "log" }, title: "ms (log scale)" });
  const { cpuModel, nproc } = result.machine;
  return render({
    $schema: SCHEMA,
    background: "white",
    vconcat: [
      {
        title: `Throughput per design (bars scaled within each group; ${cpuModel}, ${nproc} cores, ${result.form} form)`,
        data: { values: [...bars, ...ceilings] },
        facet: { row: { field: "group", sort: [...GROUPS.map(([g]) => g)], title: null, header: HEADER } },
        spec: {
          width: 500,
          encoding: { x: { field: "value", type: "quantitative", title: null }, y, color },
          layer: [
            { mark: "bar" },
            { mark: { type: "text", align: "left", dx: 4 }, encoding: { text: { field: "value" } } },
          ],
        },
        resolve: { scale: { x: "independent", y: "independent" } },
      },
      {
        title: "Latency per phase and design (ms): p50 dark, p95 medium, p99 light",
        data: { values: latency },
        width: 500,
        encoding: { y, color, x2: { datum: 1 } },
        layer: [
          { mark: { type: "bar", opacity: 0.3 }, encoding: { x: ms("p99") } },
          { mark: { type: "bar", opacity: 0.6 }, encoding: { x: ms("p95") } },
          { mark: "bar", encoding: { x: ms("p50") } },
        ],
      },
    ],
  } as TopLevelSpec);
}

export async function soakSvg(result: BenchResult): Promise<string | null> {
  const soak = result.soak;
  if (!soak || soak.samples.length < 2) return null;
  const values = soak.samples.flatMap((s) => [
    ...Object.entries(s.rssKb).map(([name, kb]) => ({ minutes: s.t / 60, series: `${name} RSS`, MiB: kb / 1024 })),
    { minutes: s.t / 60, series: "Redis used_memory", MiB: s.redisUsedMemory / 1_048_576 },
  ]);
  return render({
    ...{ $schema: SCHEMA, background: "white", width: 700, height: 350, data: { values }, mark: "line" },
    title: `Soak: memory over ${soak.minutes} min at ${soak.targetSessionsPerSecond} sessions/s (MiB)`,
    encoding: {
      x: { field: "minutes", type: "quantitative", title: "min" },
      y: { field: "MiB", type: "quantitative" },
      color: { field: "series", type: "nominal" },
    },
  });
}
