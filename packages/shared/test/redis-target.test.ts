import { describe, expect, test } from "vitest";
import { ConfigError, describeTarget, loadBaseConfig, redisTarget } from "@oms/shared";

function problems(env: Record<string, string>): string {
  try {
    loadBaseConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.join("\n");
    throw err;
  }
  return "";
}

describe("the Redis deployment the configuration names", () => {
  test("REDIS_URL alone is one standalone server", () => {
    expect(redisTarget(loadBaseConfig({ REDIS_URL: "redis://r1:6380/2" }))).toEqual({
      mode: "standalone",
      url: "redis://r1:6380/2",
    });
  });

  test("REDIS_SENTINELS with REDIS_SENTINEL_NAME is a Sentinel set", () => {
    const target = redisTarget(
      loadBaseConfig({ REDIS_SENTINELS: "s1:26379, s2:26380,10.0.0.3:26381", REDIS_SENTINEL_NAME: "shop" }),
    );
    expect(target).toEqual({
      mode: "sentinel",
      url: "redis://127.0.0.1:6379",
      name: "shop",
      sentinels: [
        { host: "s1", port: 26379 },
        { host: "s2", port: 26380 },
        { host: "10.0.0.3", port: 26381 },
      ],
    });
    expect(describeTarget(target)).toBe("sentinel shop via s1:26379,s2:26380,10.0.0.3:26381");
  });

  test("REDIS_CLUSTER_NODES is a Cluster; the URL's password is kept for its nodes but never described", () => {
    const target = redisTarget(
      loadBaseConfig({ REDIS_CLUSTER_NODES: "n1:7000,n2:7001", REDIS_URL: "redis://:s3cret@ignored:1" }),
    );
    expect(target).toMatchObject({
      mode: "cluster",
      nodes: [
        { host: "n1", port: 7000 },
        { host: "n2", port: 7001 },
      ],
    });
    expect(describeTarget(target)).not.toContain("s3cret");
  });

  test.each([
    [{ REDIS_SENTINELS: "s1:26379" }, "REDIS_SENTINEL_NAME: required"],
    [{ REDIS_SENTINEL_NAME: "shop" }, "REDIS_SENTINELS: required"],
    [{ REDIS_SENTINELS: "s1:26379", REDIS_SENTINEL_NAME: "shop", REDIS_CLUSTER_NODES: "n1:7000" }, "cannot be set"],
    [{ REDIS_CLUSTER_NODES: "n1" }, "REDIS_CLUSTER_NODES.0: each entry must be host:port"],
    [{ REDIS_CLUSTER_NODES: " , " }, "REDIS_CLUSTER_NODES: must name at least one"],
    [{ REDIS_SENTINELS: "s1:26379", REDIS_SENTINEL_NAME: "has space" }, "REDIS_SENTINEL_NAME"],
    [{ INVENTORY_SHARDS: "0" }, "INVENTORY_SHARDS"],
  ])("%j is refused: %s", (env, message) => {
    expect(problems(env)).toContain(message);
  });
});
