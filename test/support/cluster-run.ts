/**
 * globalSetup of the cluster project (vitest.config.ts): one local Redis Cluster (three
 * primaries, a replica each) for the whole run, started before the first file and
 * stopped after the last. Files find it through `createTestEnv()`, which reads the
 * settings provided here; each file still has its own key prefix and database.
 */
import type { TestProject } from "vitest/node";
import { startLocalCluster } from "./redis-topology";

/** Config settings (environment strings) that point a test file at the run's Redis. */
export type RunRedisSettings = Record<string, string>;

declare module "vitest" {
  export interface ProvidedContext {
    /** Absent outside the cluster project: files then use the standalone server. */
    runRedisSettings?: RunRedisSettings;
  }
}

/** Stock in three shards, so carts cross shards and every shard's keys sit on another primary. */
const CLUSTER_RUN_SHARDS = 3;

export default async function startRunCluster(project: TestProject): Promise<() => Promise<void>> {
  const cluster = await startLocalCluster();
  project.provide("runRedisSettings", {
    REDIS_CLUSTER_NODES: cluster.seeds,
    INVENTORY_SHARDS: String(CLUSTER_RUN_SHARDS),
  });
  return () => cluster.stop();
}
