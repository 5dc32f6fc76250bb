/** A running system under test for one design: its processes, client pools and sampler. */
import type { Pool } from "undici";
import { closePools, createPools } from "./load";
import type { BenchOptions } from "./options";
import type { PhaseContext } from "./phase";
import { ProcSampler } from "./proc";
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

/** The environment that selects a design; everything else is the same for all. */
export function designEnv(design: DesignId, opts: BenchOptions): Record<string, string> {
  const common: Record<string, string> = {
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
  };
  switch (design) {
    case "redis":
      return common;
    case "redis-nolimit":
      return { ...common, RATE_LIMIT_PER_MINUTE: "0" };
    case "mysql-locking":
      return { ...common, INVENTORY_MODE: "mysql-locking" };
    case "mysql-batched":
      return { ...common, INVENTORY_MODE: "mysql-batched" };
    case "noop":
      return { ...common, BENCH_NOOP_WORKERS: "true" };
  }
}

export interface System {
  stack: Stack;
  pools: Pool[];
  sampler: ProcSampler;
  phase: PhaseContext;
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
  const { workerProcesses } = opts;
  const stack = opts.inProcess
    ? await startInProcessStack({ env, apiProcesses, workerProcesses })
    : await startStack({
        env,
        apiProcesses,
        workerProcesses,
        redis: world.redis,
        heartbeatsKey: world.keys.workerHeartbeats,
      });
  const apis = stack.apis.length;
  // As many connections as virtual clients, spread over the API processes.
  const pools = createPools(
    stack.apis.map((a) => a.origin),
    Math.ceil(Math.max(opts.concurrency, 64) / apis),
  );
  const sampler = new ProcSampler(watched(stack, infra)).start();
  return {
    stack,
    pools,
    sampler,
    phase: { sampler, redis: world.redis, db: world.db },
    async stop() {
      sampler.stop();
      await closePools(pools);
      await stack.stop();
    },
  };
}
