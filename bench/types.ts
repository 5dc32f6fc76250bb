/** The shapes of a benchmark run's results, as zod schemas: results.json is parsed with them to be re-rendered. */
import { z } from "zod";

const n = z.number();
/** An object of numbers (a z.object, so fields an older results.json has beyond these are dropped). */
const nums = <K extends string>(...keys: K[]) =>
  z.object(Object.fromEntries(keys.map((k) => [k, n])) as Record<K, typeof n>);

/**
 * The designs compared. `redis-nolimit` is `redis` with the per-client rate limiter off;
 * `redis-cluster` is `redis` on a local Redis Cluster (three primaries, a replica each).
 */
export const DesignId = z.enum(["redis", "redis-cluster", "mysql-locking", "mysql-batched", "noop", "redis-nolimit"]);
export type DesignId = z.infer<typeof DesignId>;
export const ScenarioId = z.enum(["flash-sale", "wide-catalog", "hot-3", "add-only"]);
export type ScenarioId = z.infer<typeof ScenarioId>;

const Latency = nums("p50", "p95", "p99", "max", "mean");
export type LatencySummary = z.infer<typeof Latency>;

/** CPU seconds and % of one core over a phase; highest sampled VmRSS and VmHWM (peak since start) at its end, kB. */
const ProcessUsage = z.object({ name: z.string(), pid: n, cpuSeconds: n, cpuPercent: n, rssPeakKb: n, hwmKb: n });
export type ProcessUsage = z.infer<typeof ProcessUsage>;

/** One redis-server over a phase: CPU (pidusage) and commands (INFO deltas, its INFO calls for the bench left out). */
const RedisNodeLoad = z.object({
  node: z.string(),
  role: z.enum(["standalone", "primary", "replica"]),
  ...{ cpuPercent: n, commands: n, opsPerSecond: n },
});
export type RedisNodeLoad = z.infer<typeof RedisNodeLoad>;

/** Counters of MariaDB's global status, as deltas over a phase (shared server: other clients count too). */
export type MysqlStatusDelta = Record<"commits" | "questions", number>;

export const PhaseResult = z.object({
  name: z.string(),
  /** Wall clock (epoch ms) when the phase started. */
  startedAtMs: n,
  concurrency: n,
  /** Open-loop target rate (requests per second), when the phase ran at a fixed rate. */
  targetRate: n.optional(),
  ...{ requests: n, seconds: n, statuses: z.record(z.string(), n) },
  /** 200 (done), 409 (no stock), 202 (checkout pending when the API stopped waiting); errors: anything else. */
  ...{ ok: n, rejected: n, pending: n, errors: n, errorSamples: z.array(z.string()) },
  ...{ requestsPerSecond: n, okPerSecond: n, rejectedPerSecond: n, latencyMs: Latency },
  /**
   * Checkout phases with limited stock: the sale lasts until the last unit is sold. From
   * MySQL (orders' completed_at, so checkouts answered 202 and completed later count) when
   * the design writes orders; from the HTTP 200 answers for the no-op floor.
   */
  saleWindow: nums("completed", "seconds", "completedPerSecond").optional(),
  /** Checkout phases of designs that write orders: orders completed, and per second until the last one completed. */
  ordersCompleted: nums("completed", "seconds", "perSecond").optional(),
  /** CPU of the load generator itself (this process), % of one core. */
  clientCpuPercent: n,
  processes: z.array(ProcessUsage),
  /** INFO used_memory, summed over the redis-servers. */
  redisUsedMemory: nums("before", "after"),
  /** Each redis-server of the world (one, or six on a Cluster); absent from runs before it was measured. */
  redisNodes: z.array(RedisNodeLoad).default([]),
  mysql: nums("commits", "questions"),
  /** The machine's 1-minute load average at the start and the end of the phase. */
  loadAverage: z.array(n).optional(),
});
export type PhaseResult = z.infer<typeof PhaseResult>;

const CorrectnessChecks = z.object({
  /** Units sold beyond the initial stock (and units refunds returned), summed over products. Must be 0. */
  oversoldUnits: n,
  /** Per product: initial stock + units refunds returned = MySQL quantity + units of paid orders (after the flush). */
  conservation: z.boolean(),
  /** Per product: the cached available level equals the MySQL quantity; null when the design has no cache. */
  redisMatchesMysql: z.boolean().nullable(),
  ...{ completedOrders: n, failedOrders: n },
  /** HTTP 200 checkouts <= completed orders <= 200 + 202 answers. */
  answersAgree: z.boolean(),
  quiescentAfterSeconds: n,
  /** Every invariant of the test suite's conservationReport that failed, and the benchmark's own. */
  violations: z.array(z.string()),
  ok: z.boolean(),
});
export type CorrectnessChecks = z.infer<typeof CorrectnessChecks>;

/** Writes per group-commit transaction of the workers; quantiles are histogram bucket bounds ("at most"). */
const WriteBatches = nums("transactions", "writes", "meanSize", "p50AtMost", "p90AtMost", "maxAtMost");
export type WriteBatches = z.infer<typeof WriteBatches>;

/** Sold-out answers against the plain route (GET /healthz) of the same API process, alternated. */
const SoldOutResult = z.object({ soldOut: PhaseResult, healthz: PhaseResult, ratio: n });
export type SoldOutResult = z.infer<typeof SoldOutResult>;

const ScenarioRun = z.object({
  scenario: ScenarioId,
  design: DesignId,
  params: z.record(z.string(), z.union([n, z.string()])),
  phases: z.array(PhaseResult),
  checks: CorrectnessChecks,
  soldOut: SoldOutResult.optional(),
  /** Seconds to start the API and worker processes. */
  startupSeconds: n,
  writeBatches: WriteBatches.optional(),
});
export type ScenarioRun = z.infer<typeof ScenarioRun>;

/** One bottleneck alone; server and client CPU (redis-server or mariadbd, this process) in % of one core. */
const CeilingResult = z.object({
  ...{ name: z.string(), description: z.string(), latencyMs: Latency },
  ...{ lines: n, concurrency: n, connections: n, operations: n, seconds: n, opsPerSecond: n, failures: n },
  ...{ serverCpuPercent: n, clientCpuPercent: n },
});
export type CeilingResult = z.infer<typeof CeilingResult>;

/** CPU % of one core of each API process (port order) and together; API CPU ms per request. */
const ScaleResult = z.object({
  ...{ apiProcesses: n, targetRate: n, phase: PhaseResult, apiCpuPercent: z.array(n) },
  ...{ apiCpuPercentTotal: n, apiCpuMsPerRequest: n, workersCpuPercent: n, checksOk: z.boolean() },
});
export type ScaleResult = z.infer<typeof ScaleResult>;

const SoakSample = z.object({ t: n, rssKb: z.record(z.string(), n), redisUsedMemory: n });
export type SoakSample = z.infer<typeof SoakSample>;

const Growth = z.object({ series: z.string(), first: n, last: n, delta: n, percent: n, unit: z.string() });
const FirstLast = nums("first", "last");
const SoakResult = z.object({
  ...{ minutes: n, targetSessionsPerSecond: n, phase: PhaseResult, samples: z.array(SoakSample) },
  /** Per series (process RSS, Redis used_memory): mean over the first and the last window. */
  ...{ growth: z.array(Growth), windowSeconds: n },
  /** Keys under the run's prefix, and rows of the tables that grow with traffic, at the first and the last sample. */
  ...{ prefixKeys: FirstLast, tableRows: z.record(z.string(), FirstLast), checks: CorrectnessChecks },
});
export type SoakResult = z.infer<typeof SoakResult>;

const TargetResult = z.object({
  ...{ name: z.string(), ratio: n.nullable(), threshold: n, direction: z.enum([">=", "<="]) },
  ...{ pass: z.boolean().nullable(), detail: z.string() },
});
export type TargetResult = z.infer<typeof TargetResult>;

const s = z.string();
const MachineInfo = z.object({
  ...{ nproc: n, cpuModel: s, memoryGb: n, node: s, os: s, redisVersion: s, mysqlVersion: s },
  ...{ loadAverageStart: s, loadAverageEnd: s, startedAt: s, finishedAt: s },
});
export type MachineInfo = z.infer<typeof MachineInfo>;

export const BenchResult = z.object({
  form: z.enum(["quick", "full"]),
  machine: MachineInfo,
  settings: z.record(z.string(), z.union([n, s, z.boolean()])),
  ...{ runs: z.array(ScenarioRun), ceilings: z.array(CeilingResult), scale: z.array(ScaleResult) },
  ...{ soak: SoakResult.nullable(), targets: z.array(TargetResult), correctnessOk: z.boolean() },
});
export type BenchResult = z.infer<typeof BenchResult>;
