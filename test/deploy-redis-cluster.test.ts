/**
 * deploy/redis-cluster/config.yaml, the ConfigMap a shop on a Redis Cluster applies in
 * place of deploy/k8s/config.yaml: it must keep every base setting and name a valid
 * Cluster configuration.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { loadBaseConfig, redisTarget } from "@oms/shared";

interface ConfigMap {
  kind: string;
  metadata: { name: string; namespace: string };
  data: Record<string, string>;
}

const read = (path: string) => parse(readFileSync(new URL(`../${path}`, import.meta.url), "utf8")) as ConfigMap;
const base = read("deploy/k8s/config.yaml");
const cluster = read("deploy/redis-cluster/config.yaml");

describe("the Redis Cluster ConfigMap", () => {
  it("replaces the base one: same name and namespace, every base setting with the same value", () => {
    expect(cluster.kind).toBe("ConfigMap");
    expect(cluster.metadata).toMatchObject({ name: base.metadata.name, namespace: base.metadata.namespace });
    expect(cluster.data).toMatchObject(base.data);
  });

  it("is a valid configuration in Cluster mode, with shards to spread and a replica to wait for", () => {
    const config = loadBaseConfig({ ...cluster.data, REDIS_URL: "redis://:secret@unused:6379" });
    const target = redisTarget(config);
    expect(target.mode).toBe("cluster");
    expect(target.mode === "cluster" ? target.nodes.length : 0).toBeGreaterThanOrEqual(3);
    expect(config.INVENTORY_SHARDS).toBeGreaterThan(3);
    expect(config.REDIS_WAIT_REPLICAS).toBe(1);
  });
});
