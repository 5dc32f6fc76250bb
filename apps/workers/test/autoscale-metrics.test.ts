/**
 * The autoscaler's measurements and its metrics endpoint: what KEDA reads on Kubernetes,
 * where the autoscaler runs observe-only (AUTOSCALE_OBSERVE_ONLY) and spawns nothing.
 */
import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { Queue } from "bullmq";
import { QUEUE_NAMES, createLogger, createRedis, keyspace } from "@oms/shared";
import { createAutoscaleMetrics } from "../src/autoscale/metrics";
import { serveMetrics, type MetricsServer } from "../src/observability/metrics-server";
import { Supervisor } from "../src/autoscale/supervisor";
import { REDIS_URL, metricValue } from "./fixtures/autoscale-support";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function serve(ready: () => boolean): Promise<{ server: MetricsServer; url: string }> {
  const metrics = createAutoscaleMetrics();
  metrics.backlog.set({ queue: "checkout" }, 7);
  const server = await serveMetrics({
    registry: metrics.registry,
    port: 0,
    host: "127.0.0.1",
    readiness: () => ({ ready: ready() }),
  });
  cleanups.push(() => server.close());
  return { server, url: `http://127.0.0.1:${server.port}` };
}

describe("the metrics endpoint", () => {
  it("serves /metrics in the Prometheus format, /healthz, and /readyz from the health check", async () => {
    let healthy = false;
    const { url } = await serve(() => healthy);
    const metrics = await fetch(`${url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get("content-type")).toMatch(/^text\/plain/);
    const text = await metrics.text();
    expect(metricValue(text, "oms_queue_backlog", { queue: "checkout", component: "autoscaler" })).toBe(7);
    expect(text).toContain("# TYPE oms_autoscale_desired_workers gauge");
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await fetch(`${url}/readyz`)).status).toBe(503);
    healthy = true;
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    expect((await fetch(`${url}/nope`)).status).toBe(404);
    expect((await fetch(`${url}/metrics`, { method: "POST" })).status).toBe(405);
  });
});

describe("observe-only", () => {
  it("measures backlog and the oldest wait of each queue and runs no worker", async () => {
    const prefix = `ao${randomBytes(5).toString("hex")}`;
    const keys = keyspace(prefix);
    const redis = createRedis(REDIS_URL, { forQueue: true, name: "autoscale-metrics-test" });
    const checkout = new Queue(QUEUE_NAMES.checkout, { connection: redis, prefix: keys.queuePrefix("checkout") });
    cleanups.push(async () => {
      await checkout.close();
      // Every key of this prefix, the supervisor's own queues' included.
      const stream = redis.scanStream({ match: keys.allKeysPattern, count: 1000 });
      for await (const batch of stream as AsyncIterable<string[]>) {
        if (batch.length) await redis.unlink(...batch);
      }
      redis.disconnect();
    });
    const metrics = createAutoscaleMetrics();
    const supervisor = new Supervisor({
      redisTarget: REDIS_URL,
      queuePrefix: keys.queuePrefix,
      limits: new Map([
        ["checkout", { min: 1, max: 4 }],
        ["cart", { min: 1, max: 2 }],
      ]),
      policy: { targetBacklog: 2, maxWaitMs: 100, cooldownMs: 0 },
      pollIntervalMs: 60_000,
      retireTimeoutMs: 1_000,
      logger: createLogger("silent", "autoscale-metrics-test"),
      metrics,
      spawnWorkers: false,
    });
    const spawned: number[] = [];
    supervisor.on("spawn", (e) => spawned.push(e.pid));
    cleanups.push(() => supervisor.stop());

    await checkout.add("a", { n: 1 }, { timestamp: Date.now() - 5_000 });
    await checkout.addBulk([1, 2, 3].map((n) => ({ name: "b", data: { n } })));
    await checkout.add("later", { n: 5 }, { delay: 60_000 });
    supervisor.start();
    expect(supervisor.isHealthy()).toBe(false);
    await supervisor.tick();

    expect(supervisor.isHealthy()).toBe(true);
    const status = supervisor.status().find((s) => s.queue === "checkout");
    expect(status).toMatchObject({ queue: "checkout", running: 0, ready: 0, observation: { backlog: 5 } });
    // The oldest waiting job was created five seconds ago.
    expect(status?.observation?.oldestWaitMs).toBeGreaterThanOrEqual(5_000);
    expect(status?.observation?.oldestWaitMs).toBeLessThan(60_000);
    expect(supervisor.status().find((s) => s.queue === "cart")).toMatchObject({
      observation: { backlog: 0, oldestWaitMs: 0 },
    });

    const text = await metrics.registry.metrics();
    expect(metricValue(text, "oms_queue_backlog", { queue: "checkout" })).toBe(5);
    expect(metricValue(text, "oms_queue_oldest_wait_seconds", { queue: "checkout" })).toBeGreaterThanOrEqual(5);
    expect(metricValue(text, "oms_queue_backlog", { queue: "cart" })).toBe(0);
    expect(spawned).toEqual([]);
  });

  it("a Redis that does not answer counts as a failed measurement, not a crash", async () => {
    const metrics = createAutoscaleMetrics();
    const supervisor = new Supervisor({
      redisTarget: "redis://127.0.0.1:1",
      queuePrefix: () => "{unreachable}",
      limits: new Map([["checkout", { min: 1, max: 2 }]]),
      policy: { targetBacklog: 2, maxWaitMs: 100, cooldownMs: 0 },
      pollIntervalMs: 60_000,
      retireTimeoutMs: 1_000,
      measureTimeoutMs: 300,
      logger: createLogger("silent", "autoscale-metrics-test"),
      metrics,
      spawnWorkers: false,
    });
    cleanups.push(() => supervisor.stop());
    supervisor.start();
    await supervisor.tick();
    expect(supervisor.isHealthy()).toBe(false);
    expect((await metrics.measureErrors.get()).values[0]?.value).toBeGreaterThanOrEqual(1);
  });
});
