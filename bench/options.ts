/** The two forms of the benchmark and the command-line flags that adjust them. */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ROOT } from "../test/support/system";
import { DesignId, ScenarioId } from "./types";
import { errorMessage } from "@oms/shared";

const ALL_SCENARIOS = ScenarioId.options;
const ALL_DESIGNS = DesignId.options;

type Limits = Record<"seconds" | "concurrency" | "redisConnections" | "mysqlConnections", number>;
/** Sessions per second null: a share of what the redis design reached on the wide catalog. */
type Soak = { minutes: number; sessionsPerSecond: number | null; sampleSeconds: number };

/** `concurrency`: virtual clients of every closed-loop phase; `checkTimeoutMs`: longest wait for quiescence. */
function fullOptions() {
  return {
    ...{ form: "full" as "quick" | "full", designs: ALL_DESIGNS, scenarios: ALL_SCENARIOS },
    ...{ concurrency: 200, workerProcesses: 2, paymentLatencyMs: 0, rateLimitPerMinute: 600 },
    /**
     * One system per scenario run (fresh processes, so VmHWM is the scenario's), or one per
     * design with the designs side by side (the quick form: correctness, not speed).
     */
    isolate: "scenario" as "scenario" | "design",
    /** Run the API and the workers inside the benchmark's process (for a test runner's time budget). */
    inProcess: false,
    flashSale: { clients: 4_000, stock: 400 },
    soldOut: { roundSeconds: 4, rounds: 3, clients: 20_000 },
    wideCatalog: { products: 1_000, carts: 1_500, maxLines: 5 },
    ...{ hot3: { carts: 1_500 }, addOnly: { requests: 3_000, products: 1_000 } },
    ceilings: { seconds: 8, concurrency: 256, redisConnections: 4, mysqlConnections: 32 } as Limits | null,
    scale: { processes: [1, 2, 4], seconds: 20 } as { processes: number[]; seconds: number } | null,
    soak: { minutes: 10, sessionsPerSecond: null, sampleSeconds: 5 } as Soak | null,
    ...{ outDir: join(ROOT, "bench/results"), progress: true, checkTimeoutMs: 120_000 },
  };
}
export type BenchOptions = ReturnType<typeof fullOptions>;

/** A few seconds per scenario: correctness, not speed (CI runs it). */
export function quickOptions(): BenchOptions {
  return {
    ...fullOptions(),
    ...{ form: "quick", designs: ALL_DESIGNS.filter((d) => d !== "redis-nolimit") },
    ...{ concurrency: 16, workerProcesses: 1, isolate: "design" },
    flashSale: { clients: 150, stock: 25 },
    soldOut: { roundSeconds: 0.5, rounds: 1, clients: 150 },
    wideCatalog: { products: 50, carts: 80, maxLines: 5 },
    ...{ hot3: { carts: 60 }, addOnly: { requests: 100, products: 50 } },
    ceilings: { seconds: 1, concurrency: 32, redisConnections: 2, mysqlConnections: 8 },
    scale: null,
    soak: { minutes: 0.1, sessionsPerSecond: 10, sampleSeconds: 1 },
    ...{ outDir: join(ROOT, "bench/results/tmp"), checkTimeoutMs: 30_000 },
  };
}

/** The flags, with the words --help prints for each (a value's placeholder first). */
const flag = (help: string) => ({ type: "boolean", help }) as const;
const value = (help: string) => ({ type: "string", help }) as const;
const OPTIONS = {
  quick: flag("a few seconds per scenario; checks correctness, not speed (CI)"),
  "soak-minutes": value("N  length of the memory soak (full form: 10; 0 skips it)"),
  concurrency: value("N  virtual clients of each closed-loop phase (full form: 200)"),
  workers: value("N  worker processes (full form: 2)"),
  designs: value(`a,b  among ${ALL_DESIGNS.join(", ")}`),
  scenarios: value(`a,b  among ${ALL_SCENARIOS.join(", ")}`),
  "no-ceilings": flag("skip the Redis and MySQL ceilings"),
  "no-scale": flag("skip the horizontal-scale runs"),
  "payment-latency-ms": value("N  PAYMENT_SIM_LATENCY_MS of every design (default 0)"),
  "rate-limit": value("N  RATE_LIMIT_PER_MINUTE of the designs with the limiter (default 600)"),
  size: value("F  multiply the number of shoppers, carts and requests (e.g. 0.25 for a shorter run)"),
  out: value("DIR  where to write results (full: bench/results, quick: bench/results/tmp)"),
  "in-process": flag("run the API and workers inside this process (quick checks only)"),
  "no-progress": flag("no live progress line"),
  render: value("FILE  only re-render summary.md and the charts from a results.json"),
  help: { type: "boolean", short: "h", help: "this list" },
} as const;

const USAGE = [
  "usage: npm run bench -- [options]",
  ...Object.entries(OPTIONS).map(([name, { type, help }]) => {
    const [arg, words] = type === "string" ? help.split(/ {2}(.*)/s) : ["", help];
    return `  ${`--${name} ${arg}`.padEnd(24)}${words}`;
  }),
].join("\n");

const fail = (why: string): never => {
  throw new Error(`${why}\n${USAGE}`);
};

/** The options of a command line, and the results.json to re-render when --render is given. */
export function parseCommandLine(argv: string[]): { opts: BenchOptions; render?: string } {
  let v;
  try {
    v = parseArgs({ args: argv, strict: true, options: OPTIONS }).values;
  } catch (err) {
    return fail(errorMessage(err));
  }
  if (v.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const opts = v.quick ? quickOptions() : fullOptions();
  const num = (name: keyof typeof OPTIONS, fallback: number) => {
    const n = Number(v[name] ?? fallback);
    return Number.isFinite(n) && n >= 0 ? n : fail(`--${name} needs a number`);
  };
  const list = <T extends string>(name: "designs" | "scenarios", allowed: readonly T[], fallback: T[]): T[] => {
    const items = v[name]?.split(",").map((s) => s.trim()) ?? fallback;
    const ok = items.filter((s): s is T => (allowed as readonly string[]).includes(s));
    return ok.length > 0 && ok.length === items.length ? ok : fail(`--${name}: expected some of ${allowed.join(", ")}`);
  };
  const minutes = num("soak-minutes", opts.soak?.minutes ?? 0);
  opts.soak = minutes > 0 ? { sessionsPerSecond: null, sampleSeconds: 5, ...opts.soak, minutes } : null;
  opts.concurrency = Math.max(1, Math.floor(num("concurrency", opts.concurrency)));
  opts.workerProcesses = Math.max(1, Math.floor(num("workers", opts.workerProcesses)));
  opts.designs = list("designs", ALL_DESIGNS, opts.designs);
  opts.scenarios = list("scenarios", ALL_SCENARIOS, opts.scenarios);
  if (v["no-ceilings"]) opts.ceilings = null;
  if (v["no-scale"]) opts.scale = null;
  opts.paymentLatencyMs = num("payment-latency-ms", opts.paymentLatencyMs);
  opts.rateLimitPerMinute = Math.floor(num("rate-limit", opts.rateLimitPerMinute));
  // --size: a multiple of the shoppers, carts and requests of every scenario.
  const f = num("size", 1);
  const n = (x: number, least = 10) => (f === 1 ? x : Math.max(least, Math.round(x * f)));
  const [fs, so, wc, h3, ao] = [opts.flashSale, opts.soldOut, opts.wideCatalog, opts.hot3, opts.addOnly];
  [fs.clients, fs.stock, so.clients] = [n(fs.clients), n(fs.stock, 2), n(so.clients)];
  [wc.carts, h3.carts, ao.requests] = [n(wc.carts), n(h3.carts), n(ao.requests)];
  opts.outDir = v.out ?? opts.outDir;
  opts.inProcess ||= v["in-process"] === true;
  opts.progress &&= !v["no-progress"];
  return { opts, ...(v.render && { render: v.render }) };
}
