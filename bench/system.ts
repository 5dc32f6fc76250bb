/** A running system under test for one design: its processes, client pools and sampler. */
import { Pool } from "undici";
import type { BenchOptions } from "./options";
import type { PhaseContext } from "./phase";
import { ProcSampler, type WatchedProcess } from "./proc";
import { startInProcessStack, startStack, watched, type InfraPids, type Stack, type StackEntries } from "./processes";
import type { DesignId } from "./types";
import type { World } from "./world";

export const DESIGN_LABELS: Record<DesignId, string> = {
  redis: "redis (ours)",
  "redis-cluster": "redis on a 3-primary Cluster",
  "redis-nolimit": "redis, no rate limiter",
  "mysql-locking": "mysql-locking (classic)",
  "mysql-batched": "mysql-batched (MySQL only, batched)",
  noop: "no-op floor",
};

/** What each design changes in the environment every design shares. */
const DESIGN_ENV: Record<DesignId, Record<string, string>> = {
  redis: {},
  // The Cluster's nodes and INVENTORY_SHARDS come with its world (world.ts).
  "redis-cluster": {},
  "redis-nolimit": { RATE_LIMIT_PER_MINUTE: "0" },
  "mysql-locking": {},
  "mysql-batched": {},
  noop: {},
};

const PRODUCTION_ENTRIES: StackEntries = { api: "apps/api/src/main.ts", workers: "apps/workers/src/main.ts" };
/** The entry points each design's processes run: production's, or the bench's own wiring (bench/wiring.ts). */
const DESIGN_ENTRIES: Record<DesignId, StackEntries> = {
  redis: PRODUCTION_ENTRIES,
  "redis-cluster": PRODUCTION_ENTRIES,
  "redis-nolimit": PRODUCTION_ENTRIES,
  "mysql-locking": { api: "bench/entry/api-mysql.ts", workers: "bench/entry/workers-mysql-locking.ts" },
  "mysql-batched": { api: "bench/entry/api-mysql.ts", workers: "bench/entry/workers-mysql-batched.ts" },
  noop: { api: PRODUCTION_ENTRIES.api, workers: "bench/entry/workers-noop.ts" },
};

/** The designs that run on a local Redis Cluster instead of one redis-server. */
export const onCluster = (design: DesignId) => design === "redis-cluster";
/** The designs that keep stock levels in Redis (the others keep no cache to compare). */
export const cachesStock = (design: DesignId) => design.startsWith("redis");

/** The environment that selects a design; everything else is the same for all. */
export function designEnv(design: DesignId, opts: BenchOptions): Record<string, string> {
  return {
    NODE_ENV: "production",
    HOST: "127.0.0.1",
    LOG_LEVEL: "warn",
    SEED_ON_START: "false",
    METRICS_PORT: "0",
    SHUTDOWN_GRACE_MS: "5000",
    WORKER_QUEUES: "cart,checkout,inventory",
    PAYMENT_SIM_LATENCY_MS: String(opts.paymentLatencyMs),
    RATE_LIMIT_PER_MINUTE: String(opts.rateLimitPerMinute),
    ...DESIGN_ENV[design],
  };
}

export interface System {
  stack: Stack;
  /** One undici pool per API process: keep-alive, one request in flight per connection. */
  pools: Pool[];
  phase: PhaseContext;
  processes: WatchedProcess[];
  stop(): Promise<void>;
}

export async function startSystem(
  world: World,
  design: DesignId,
  opts: BenchOptions,
  infra: InfraPids,
  apiProcesses = 1,
): Promise<System> {
  const env = { ...designEnv(design, opts), ...world.processEnv };
  const counts = { apiProcesses, workerProcesses: opts.workerProcesses };
  const stack = opts.inProcess
    ? await startInProcessStack(env, counts, design)
    : await startStack(env, counts, { redis: world.redis, key: world.keys.workerHeartbeats }, DESIGN_ENTRIES[design]);
  // As many connections as virtual clients, spread over the API processes.
  const connections = Math.ceil(Math.max(opts.concurrency, 64) / stack.apis.length);
  const timeouts = {
    keepAliveTimeout: 60_000,
    keepAliveMaxTimeout: 600_000,
    headersTimeout: 60_000,
    bodyTimeout: 60_000,
  };
  const pools = stack.apis.map((a) => new Pool(a.origin, { connections, pipelining: 1, ...timeouts }));
  // The world's own redis-servers, each by its pid, in place of a shared one.
  const redisServers = world.servers.nodes.map(({ pid }) => ({ name: "redis-server", pid }));
  const processes = [...watched(stack, { ...infra, redis: null }), ...redisServers];
  const sampler = new ProcSampler(processes).start();
  return {
    stack,
    pools,
    phase: { sampler, servers: world.servers, db: world.db },
    processes,
    async stop() {
      sampler.stop();
      await Promise.all(pools.map((p) => p.close().catch(() => undefined)));
      await stack.stop();
    },
  };
}
