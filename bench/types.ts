/**
 * The shapes of a run's results (results.json), as zod schemas: a re-render parses the
 * file with them. docs/benchmark.md says what each figure means.
 */
import { z } from "zod";

const [n, s, bool] = [z.number(), z.string(), z.boolean()];
/** An object of numbers (a z.object, so fields an older results.json has beyond these are dropped). */
const nums = <K extends string>(...keys: K[]) =>
  z.object(Object.fromEntries(keys.map((k) => [k, n])) as Record<K, typeof n>);

/** `redis-nolimit`: `redis` with the rate limiter off; `redis-cluster`: `redis` on a local Redis Cluster. */
export const DesignId = z.enum(["redis", "redis-cluster", "mysql-locking", "mysql-batched", "noop", "redis-nolimit"]);
export type DesignId = z.infer<typeof DesignId>;
export const ScenarioId = z.enum(["flash-sale", "wide-catalog", "hot-3", "add-only"]);
export type ScenarioId = z.infer<typeof ScenarioId>;

const Latency = nums("p50", "p95", "p99", "max", "mean");

/** CPU over a phase; the highest sampled VmRSS and VmHWM (peak since start) at its end, kB. */
const ProcessUsage = z.object({ name: s, pid: n, cpuSeconds: n, cpuPercent: n, rssPeakKb: n, hwmKb: n });
export type ProcessUsage = z.infer<typeof ProcessUsage>;
const Role = z.enum(["standalone", "primary", "replica"]);
const RedisNode = z.object({ node: s, role: Role, cpuPercent: n, commands: n, opsPerSecond: n });

export const PhaseResult = z.object({
  ...{ name: s, startedAtMs: n, concurrency: n, targetRate: n.optional(), requests: n, seconds: n },
  /** 200 (done), 409 (no stock), 202 (checkout pending when the API stopped waiting); errors: anything else. */
  ...{ statuses: z.record(s, n), ok: n, rejected: n, pending: n, errors: n, errorSamples: z.array(s) },
  ...{ requestsPerSecond: n, okPerSecond: n, rejectedPerSecond: n, latencyMs: Latency },
  /** Checkouts of limited stock: until the last unit sold (MySQL's completed_at; the floor: 200 answers). */
  saleWindow: nums("completed", "seconds", "completedPerSecond").optional(),
  ordersCompleted: nums("completed", "seconds", "perSecond").optional(),
  /** CPU of the load generator (this process), % of one core. */
  ...{ clientCpuPercent: n, processes: z.array(ProcessUsage), redisUsedMemory: nums("before", "after") },
  /** Each redis-server of the world; absent from runs before it was measured. */
  redisNodes: z.array(RedisNode).default([]),
  ...{ mysql: nums("commits", "questions"), loadAverage: z.array(n).optional() },
});
export type PhaseResult = z.infer<typeof PhaseResult>;

const CorrectnessChecks = z.object({
  ...{ oversoldUnits: n, conservation: bool, redisMatchesMysql: bool.nullable() },
  ...{ completedOrders: n, failedOrders: n, answersAgree: bool, quiescentAfterSeconds: n },
  ...{ violations: z.array(s), ok: bool },
});
export type CorrectnessChecks = z.infer<typeof CorrectnessChecks>;

/** Writes per group-commit transaction of the workers; quantiles are histogram bucket bounds ("at most"). */
const WriteBatches = nums("transactions", "writes", "meanSize", "p50AtMost", "p90AtMost", "maxAtMost");
export type WriteBatches = z.infer<typeof WriteBatches>;

/** Sold-out answers against the plain route (GET /healthz) of the same API process, alternated. */
const SoldOutResult = z.object({ soldOut: PhaseResult, healthz: PhaseResult, ratio: n });

const ScenarioRun = z.object({
  ...{ scenario: ScenarioId, design: DesignId, params: z.record(s, z.union([n, s])), phases: z.array(PhaseResult) },
  ...{ checks: CorrectnessChecks, soldOut: SoldOutResult.optional(), startupSeconds: n },
  writeBatches: WriteBatches.optional(),
});
export type ScenarioRun = z.infer<typeof ScenarioRun>;

/** One bottleneck alone; server and client CPU (redis-server or mariadbd, this process) in % of one core. */
const CeilingResult = z.object({
  ...{ name: s, description: s, latencyMs: Latency, serverCpuPercent: n, clientCpuPercent: n },
  ...{ lines: n, concurrency: n, connections: n, operations: n, seconds: n, opsPerSecond: n, failures: n },
});

/** CPU % of one core of each API process (port order) and together; API CPU ms per request. */
const ScaleResult = z.object({
  ...{ apiProcesses: n, targetRate: n, phase: PhaseResult, apiCpuPercent: z.array(n) },
  ...{ apiCpuPercentTotal: n, apiCpuMsPerRequest: n, workersCpuPercent: n, checksOk: bool },
});

const SoakSample = z.object({ t: n, rssKb: z.record(s, n), redisUsedMemory: n });
export type SoakSample = z.infer<typeof SoakSample>;
const Growth = z.object({ series: s, first: n, last: n, delta: n, percent: n, unit: s });
const FirstLast = nums("first", "last");
const SoakResult = z.object({
  ...{ minutes: n, targetSessionsPerSecond: n, phase: PhaseResult, samples: z.array(SoakSample) },
  /** Per series (process RSS, Redis used_memory): mean over the first and the last window. */
  ...{ growth: z.array(Growth), windowSeconds: n, prefixKeys: FirstLast, tableRows: z.record(s, FirstLast) },
  checks: CorrectnessChecks,
});

const TargetResult = z.object({
  ...{ name: s, ratio: n.nullable(), threshold: n, direction: z.enum([">=", "<="]) },
  ...{ pass: bool.nullable(), detail: s },
});

const MachineInfo = z.object({
  ...{ nproc: n, cpuModel: s, memoryGb: n, node: s, os: s, redisVersion: s, mysqlVersion: s },
  ...{ loadAverageStart: s, loadAverageEnd: s, startedAt: s, finishedAt: s },
});

export const BenchResult = z.object({
  ...{ form: z.enum(["quick", "full"]), machine: MachineInfo, settings: z.record(s, z.union([n, s, bool])) },
  ...{ runs: z.array(ScenarioRun), ceilings: z.array(CeilingResult), scale: z.array(ScaleResult) },
  ...{ soak: SoakResult.nullable(), targets: z.array(TargetResult), correctnessOk: bool },
});
export type BenchResult = z.infer<typeof BenchResult>;
