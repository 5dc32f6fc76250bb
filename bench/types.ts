/** The shapes of a benchmark run's results, as written to the JSON file. */

/**
 * The designs compared. `redis-nolimit` is `redis` with the per-client rate limiter off;
 * `redis-cluster` is `redis` on a local Redis Cluster (three primaries, a replica each).
 */
export type DesignId = "redis" | "redis-cluster" | "redis-nolimit" | "mysql-locking" | "mysql-batched" | "noop";

export type ScenarioId = "flash-sale" | "wide-catalog" | "hot-3" | "add-only";

export type LatencySummary = Record<"p50" | "p95" | "p99" | "max" | "mean", number>;

/** CPU and memory of one process over a phase. */
export interface ProcessUsage {
  name: string;
  pid: number;
  /** CPU seconds (user + system) spent during the phase. */
  cpuSeconds: number;
  /** cpuSeconds / wall seconds, in % of one core. */
  cpuPercent: number;
  /** Highest VmRSS seen by the sampler during the phase (kB). */
  rssPeakKb: number;
  /** VmHWM at the end of the phase (kB): the process's peak since it started. */
  hwmKb: number;
}

/** One redis-server over a phase: CPU (pidusage) and commands (INFO total_commands_processed deltas). */
export interface RedisNodeLoad {
  node: string;
  role: "standalone" | "primary" | "replica";
  cpuPercent: number;
  /** Commands processed in the phase, the benchmark's own INFO calls left out (a replica's are its replication stream). */
  commands: number;
  opsPerSecond: number;
}

/** Counters of MariaDB's global status, as deltas over a phase (shared server: other clients count too). */
export type MysqlStatusDelta = Record<"rowLockWaits" | "rowLockTimeMs" | "commits" | "questions", number>;

export interface PhaseResult {
  name: string;
  /** Wall clock (epoch ms) when the phase started. */
  startedAtMs: number;
  concurrency: number;
  /** Open-loop target rate (requests per second), when the phase ran at a fixed rate. */
  targetRate?: number;
  requests: number;
  seconds: number;
  statuses: Record<string, number>;
  /** 200 answers (checkout completed, item added, healthz ok). */
  ok: number;
  /** 409 answers (not enough stock). */
  rejected: number;
  /** 202 answers (checkout still pending when the API stopped waiting). */
  pending: number;
  /** Anything else: 4xx other than 409, 5xx, network errors. */
  errors: number;
  errorSamples: string[];
  requestsPerSecond: number;
  okPerSecond: number;
  rejectedPerSecond: number;
  latencyMs: LatencySummary;
  /** Latency of the 200 answers alone. */
  okLatencyMs: LatencySummary;
  /**
   * Checkout phases with limited stock: the sale lasts until the last unit is sold. From
   * MySQL (orders' completed_at, so checkouts answered 202 and completed later count) when
   * the design writes orders; from the HTTP 200 answers for the no-op floor.
   */
  saleWindow?: Record<"completed" | "seconds" | "completedPerSecond", number> & {
    latencyMs: LatencySummary;
    source: "mysql" | "http";
  };
  /** Checkout phases of designs that write orders: orders completed, and per second until the last one completed. */
  ordersCompleted?: { completed: number; seconds: number; perSecond: number };
  /** CPU of the load generator itself (this process), % of one core. */
  clientCpuPercent: number;
  processes: ProcessUsage[];
  /** INFO used_memory, summed over the redis-servers. */
  redisUsedMemory: { before: number; after: number };
  /** Each redis-server of the world (one, or six on a Cluster): its share of the load. */
  redisNodes: RedisNodeLoad[];
  mysql: MysqlStatusDelta;
  /** The machine's 1-minute load average at the start and the end of the phase. */
  loadAverage?: number[];
}

export interface CorrectnessChecks {
  /** Units sold beyond the initial stock (and units refunds returned), summed over products. Must be 0. */
  oversoldUnits: number;
  /** Per product: initial stock + units refunds returned = MySQL quantity + units of paid orders (after the flush). */
  conservation: boolean;
  /** Per product: the cached available level equals the MySQL quantity; null when the design has no cache. */
  redisMatchesMysql: boolean | null;
  completedOrders: number;
  failedOrders: number;
  /** HTTP 200 checkouts <= completed orders <= 200 + 202 answers. */
  answersAgree: boolean;
  quiescentAfterSeconds: number;
  /** Every invariant of the test suite's conservationReport that failed, and the benchmark's own. */
  violations: string[];
  ok: boolean;
}

export interface ScenarioRun {
  scenario: ScenarioId;
  design: DesignId;
  params: Record<string, number | string>;
  phases: PhaseResult[];
  checks: CorrectnessChecks;
  /** Flash sale only: sold-out answers against the plain route of the same API process. */
  soldOut?: SoldOutResult;
  /** Seconds to start the API and worker processes. */
  startupSeconds: number;
  /** Group-commit transactions of the worker processes over the whole run (add and checkout phases). */
  writeBatches?: WriteBatches;
}

/** Writes per group-commit transaction; quantiles are histogram bucket bounds ("at most"). */
export type WriteBatches = Record<
  "transactions" | "writes" | "meanSize" | "p50AtMost" | "p90AtMost" | "maxAtMost",
  number
>;

type CeilingFigure = "lines" | "concurrency" | "connections" | "operations" | "seconds" | "opsPerSecond" | "failures";

/** One bottleneck alone; server and client CPU (redis-server or mariadbd, this process) in % of one core. */
export interface CeilingResult extends Record<CeilingFigure | "serverCpuPercent" | "clientCpuPercent", number> {
  name: string;
  description: string;
  latencyMs: LatencySummary;
}

export interface ScaleResult {
  apiProcesses: number;
  targetRate: number;
  phase: PhaseResult;
  /** CPU % of one core of each API process, in port order. */
  apiCpuPercent: number[];
  apiCpuPercentTotal: number;
  /** API CPU milliseconds per request, all API processes together. */
  apiCpuMsPerRequest: number;
  workersCpuPercent: number;
  checksOk: boolean;
}

export interface SoakSample {
  t: number;
  rssKb: Record<string, number>;
  redisUsedMemory: number;
  prefixKeys?: number;
}

export interface SoakResult {
  minutes: number;
  targetSessionsPerSecond: number;
  phase: PhaseResult;
  samples: SoakSample[];
  /** Per series (process RSS, Redis used_memory): mean over the first and the last window. */
  growth: Array<{ series: string; first: number; last: number; delta: number; percent: number; unit: string }>;
  windowSeconds: number;
  prefixKeys: { first: number; last: number };
  /** Rows of the tables that grow with traffic, at the first and the last sample. */
  tableRows: Record<string, { first: number; last: number }>;
  checks: CorrectnessChecks;
}

export interface TargetResult {
  name: string;
  ratio: number | null;
  threshold: number;
  direction: ">=" | "<=";
  pass: boolean | null;
  detail: string;
}

export interface MachineInfo extends Record<
  "cpuModel" | "node" | "os" | "redisVersion" | "mysqlVersion" | "startedAt" | "finishedAt",
  string
> {
  nproc: number;
  memoryGb: number;
  loadAverageStart: string;
  loadAverageEnd: string;
}

export interface BenchResult {
  form: "quick" | "full";
  machine: MachineInfo;
  settings: Record<string, number | string | boolean>;
  runs: ScenarioRun[];
  ceilings: CeilingResult[];
  scale: ScaleResult[];
  soak: SoakResult | null;
  targets: TargetResult[];
  correctnessOk: boolean;
}

/** Sold-out answers against the plain route (GET /healthz) of the same API process, alternated. */
export interface SoldOutResult {
  soldOut: PhaseResult;
  healthz: PhaseResult;
  ratio: number;
}
