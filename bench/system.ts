/**
 * The designs, and sessions: scenarios against one design's running system in a world of its
 * own, each seeded, run, then checked at quiescence; the world and the processes go afterwards.
 */
import { Pool } from "undici";
import { checkCorrectness } from "./checks";
import type { BenchOptions } from "./options";
import { procSampler } from "./phase";
import { startInProcessStack, startStack, watched, type StackEntries } from "./processes";
import type { Progress } from "./load";
import type { Scenario, ScenarioOutput, Seeded } from "./scenarios";
import type { CorrectnessChecks, DesignId, WriteBatches } from "./types";
import { createWorld, destroyWorld, type World } from "./world";

const PRODUCTION: StackEntries = { api: "apps/api/src/main.ts", workers: "apps/workers/src/main.ts" };
/** The bench's own entry points (bench/entry/), wired by bench/wiring.ts for the design named in BENCH_DESIGN. */
const OWN: StackEntries = { api: "bench/entry/api.ts", workers: "bench/entry/workers.ts" };

/**
 * Each design's label, the entry points its processes run and what it changes in the
 * environment all designs share. The Cluster's nodes and INVENTORY_SHARDS come with its world (world.ts).
 */
const DESIGNS: Record<DesignId, { label: string; entries: StackEntries; env?: Record<string, string> }> = {
  redis: { label: "redis (ours)", entries: PRODUCTION },
  "redis-cluster": { label: "redis on a 3-primary Cluster", entries: PRODUCTION },
  "mysql-locking": { label: "mysql-locking (classic)", entries: OWN },
  "mysql-batched": { label: "mysql-batched (MySQL only, batched)", entries: OWN },
  noop: { label: "no-op floor", entries: OWN },
  "redis-nolimit": { label: "redis, no rate limiter", entries: PRODUCTION, env: { RATE_LIMIT_PER_MINUTE: "0" } },
};
export const designLabel = (design: DesignId) => DESIGNS[design].label;

/** The designs that run on a local Redis Cluster instead of one redis-server. */
export const onCluster = (design: DesignId) => design === "redis-cluster";
/** The designs that keep stock levels in Redis (the others keep no cache to compare). */
export const cachesStock = (design: DesignId) => design.startsWith("redis");

/** The environment that selects a design; everything else is the same for all. */
const designEnv = (design: DesignId, opts: BenchOptions): Record<string, string> => ({
  ...{ NODE_ENV: "production", HOST: "127.0.0.1", LOG_LEVEL: "warn", SEED_ON_START: "false", METRICS_PORT: "0" },
  ...{ SHUTDOWN_GRACE_MS: "5000", WORKER_QUEUES: "cart,checkout,inventory" },
  PAYMENT_SIM_LATENCY_MS: String(opts.paymentLatencyMs),
  RATE_LIMIT_PER_MINUTE: String(opts.rateLimitPerMinute),
  BENCH_DESIGN: design,
  ...DESIGNS[design].env,
});

const POOL = { pipelining: 1, keepAliveTimeout: 60e3, headersTimeout: 60e3, bodyTimeout: 60e3 };

async function startSystem(world: World, design: DesignId, { opts, mysqlPid }: Bench, apiProcesses: number) {
  const env = { ...designEnv(design, opts), ...world.processEnv };
  const counts = { apiProcesses, workerProcesses: opts.workerProcesses };
  const stack = opts.inProcess
    ? await startInProcessStack(world, env, counts, design)
    : await startStack(env, counts, DESIGNS[design].entries);
  // One pool per API process: keep-alive, one request in flight per connection, as many connections as clients.
  const connections = Math.ceil(Math.max(opts.concurrency, 64) / stack.apis.length);
  const pools = stack.apis.map((a) => new Pool(a.origin, { connections, ...POOL }));
  // The world's own redis-servers, each by its pid, in place of a shared one.
  const servers = world.servers.nodes.map(({ pid }) => ({ name: "redis-server", pid }));
  const processes = [...watched(stack, mysqlPid), ...servers];
  const sampler = procSampler(processes);
  const stop = async () => {
    sampler.stop();
    await Promise.all(pools.map((p) => p.close().catch(() => undefined)));
    await stack.stop();
  };
  return { stack, pools, phase: { sampler, servers: world.servers, db: world.db }, processes, stop };
}

export type System = Awaited<ReturnType<typeof startSystem>>;

/** A scenario's run and checks; `writeBatches`: the workers' group commits over the session, when it ran one scenario. */
type Checked<Out> = { id: string; seeded: Seeded; output: Out; checks: CorrectnessChecks } & {
  startupSeconds: number;
  writeBatches?: WriteBatches;
};

/** What every session of a run shares. */
export type Bench = { opts: BenchOptions; mysqlPid: number | null; progress: Progress };

export async function runSession<Out extends ScenarioOutput>(
  bench: Bench,
  design: DesignId,
  scenarios: Array<Scenario<Out>>,
  apiProcesses = 1,
): Promise<Array<Checked<Out>>> {
  const { opts, progress: log } = bench;
  const world = await createWorld(onCluster(design));
  let system: System | undefined;
  try {
    const prepared: Array<[Scenario<Out>, Seeded]> = [];
    for (const scenario of scenarios) prepared.push([scenario, await scenario.seed(world, opts)]);
    system = await startSystem(world, design, bench, apiProcesses);
    const out: Array<Checked<Out>> = [];
    for (const [scenario, seeded] of prepared) {
      const label = `${scenario.id}/${design}`;
      const output = await scenario.run({ ...system, ...bench, world, design, label });
      const checks = await checkCorrectness(world, { ...seeded, ...output, design, timeoutMs: opts.checkTimeoutMs });
      const violations = checks.ok ? "" : `; VIOLATIONS: ${checks.violations.join("; ")}`;
      log.log(
        `  ${label} checks: oversold ${checks.oversoldUnits}, conservation ${checks.conservation}, Redis=MySQL ${checks.redisMatchesMysql ?? "n/a"}, completed ${checks.completedOrders}${violations}`,
      );
      out.push({ id: scenario.id, seeded, output, checks, startupSeconds: system.stack.startupSeconds });
    }
    const batches = out.length === 1 ? await scrapeWriteBatches(system.stack.workerMetricsUrls) : null;
    if (batches && out[0]) out[0].writeBatches = batches;
    return out;
  } finally {
    await Promise.resolve(system?.stop()).finally(() => destroyWorld(world));
  }
}

/** Group-commit batch sizes (`oms_write_batch_size`, committed) summed over the workers' /metrics; null when none. */
async function scrapeWriteBatches(urls: string[]): Promise<WriteBatches | null> {
  const scrape = (url: string) =>
    fetch(url)
      .then((r) => (r.ok ? r.text() : ""))
      .catch(() => "");
  const texts = await Promise.all(urls.map(scrape));
  const lines = texts.flatMap((t) => t.split("\n")).filter((l) => /^oms_write_batch_size.*outcome="committed"/.test(l));
  if (lines.length === 0) return null;
  const value = (l: string) => Number(l.slice(l.lastIndexOf(" ") + 1));
  const total = (suffix: string) =>
    lines.filter((l) => l.startsWith(`oms_write_batch_size_${suffix}`)).reduce((s, l) => s + value(l), 0);
  const buckets = new Map<number, number>();
  for (const l of lines.filter((x) => x.startsWith("oms_write_batch_size_bucket"))) {
    const le = /le="([^"]+)"/.exec(l)?.[1];
    const bound = le === "+Inf" ? Infinity : Number(le);
    buckets.set(bound, (buckets.get(bound) ?? 0) + value(l));
  }
  const [transactions, writes] = [total("count"), total("sum")];
  const cumulative = [...buckets].sort((a, b) => a[0] - b[0]);
  const quantile = (q: number) => cumulative.find(([, n]) => n >= q * transactions)?.[0] ?? Infinity;
  const meanSize = transactions ? Math.round((10 * writes) / transactions) / 10 : 0;
  return { transactions, writes, meanSize, p50AtMost: quantile(0.5), p90AtMost: quantile(0.9), maxAtMost: quantile(1) };
}
