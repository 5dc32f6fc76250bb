/** A running system under test for one design: its processes, client pools and sampler. */
import { Pool } from "undici";
import type { BenchOptions } from "./options";
import type { PhaseContext } from "./phase";
import { ProcSampler, type WatchedProcess } from "./proc";
import { startInProcessStack, startStack, watched, type InfraPids, type Stack } from "./processes";
import type { DesignId } from "./types";
import type { World } from "./world";

export const DESIGN_LABELS: Record<DesignId, string> = {
  redis: "redis (ours)",
  "redis-nolimit": "redis, no rate limiter",
  "mysql-locking": "mysql-locking (classic)",
  "mysql-batched": "mysql-batched (MySQL only, batched)",
  noop: "no-op floor",
};

/** What each design changes in the environment every design shares. */
const DESIGN_ENV: Record<DesignId, Record<string, string>> = {
  redis: {},
  "redis-nolimit": { RATE_LIMIT_PER_MINUTE: "0" },
  "mysql-locking": { INVENTORY_MODE: "mysql-locking" },
  "mysql-batched": { INVENTORY_MODE: "mysql-batched" },
  noop: { BENCH_NOOP_WORKERS: "true" },
};

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
    INVENTORY_MODE: "redis",
    BENCH_NOOP_WORKERS: "false",
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
  const env = { ...designEnv(design, opts), ...world.env() };
  const counts = { apiProcesses, workerProcesses: opts.workerProcesses };
  const stack = opts.inProcess ? await startInProcessStack(env, counts) : await startStack(env, counts);
  // As many connections as virtual clients, spread over the API processes.
  const connections = Math.ceil(Math.max(opts.concurrency, 64) / stack.apis.length);
  const timeouts = {
    keepAliveTimeout: 60_000,
    keepAliveMaxTimeout: 600_000,
    headersTimeout: 60_000,
    bodyTimeout: 60_000,
  };
  const pools = stack.apis.map((a) => new Pool(a.origin, { connections, pipelining: 1, ...timeouts }));
  const processes = watched(stack, infra);
  const sampler = new ProcSampler(processes).start();
  return {
    stack,
    pools,
    phase: { sampler, redis: world.redis, db: world.db },
    processes,
    async stop() {
      sampler.stop();
      await Promise.all(pools.map((p) => p.close().catch(() => undefined)));
      await stack.stop();
    },
  };
}
