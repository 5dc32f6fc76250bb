/**
 * The workers `npm start` runs serve their own metrics: the autoscaler, started as
 * `npm start` starts it (the same spawner, entry and IPC readiness), gives each worker
 * a port from AUTOSCALE_METRICS_PORT + 1 up and lists them at /targets in Prometheus's
 * HTTP service discovery format. Every listed worker answers /metrics and /readyz.
 * A port given to a worker that something else holds (on a busy host, often an
 * outgoing connection's local port) costs the worker its planned port, never its work:
 * it serves on a free one, says which in its ready message, and /targets lists that.
 */
import { createServer, type Server } from "node:net";
import { afterAll, beforeAll, expect, it } from "vitest";
import { entryCommand, freePortRun, spawnChild, waitFor, waitUntilReady, type Child } from "@oms/shared";
import { createTestEnv, type TestEnv } from "../../../test/support/env";
import { configToEnv } from "../../../test/support/system";

const QUEUES = ["cart", "checkout", "inventory"];

let env: TestEnv;
let autoscaler: Child | undefined;
let squatter: Server | undefined;

beforeAll(async () => {
  env = await createTestEnv();
});

afterAll(async () => {
  await autoscaler?.stop(30_000);
  squatter?.close();
  await env?.close();
});

interface TargetGroup {
  targets: string[];
  labels: Record<string, string>;
}

async function startAutoscaler(port: number): Promise<TargetGroup[]> {
  autoscaler = spawnChild({
    name: "autoscaler",
    command: entryCommand("autoscaler"),
    env: {
      ...process.env,
      ...configToEnv(env.config),
      HOST: "127.0.0.1",
      AUTOSCALE_METRICS_PORT: String(port),
      AUTOSCALE_WORKERS: QUEUES.map((q) => `${q}=1:1`).join(","),
    },
  });
  await waitUntilReady(autoscaler, { timeoutMs: 60_000 });
  // Listed once every worker is ready: a worker's port is the one it reports.
  return waitFor(
    "a ready worker per queue at /targets",
    async () => (await (await fetch(`http://127.0.0.1:${port}/targets`)).json()) as TargetGroup[],
    (list) => list.length === QUEUES.length && list.every((g) => g.targets.length === 1),
    60_000,
  );
}

async function expectWorkerMetrics(targets: string[]): Promise<void> {
  for (const target of targets) {
    // A worker listens once it consumes, a moment after the autoscaler starts it.
    const metrics = await waitFor(
      `${target}/metrics`,
      () =>
        fetch(`http://${target}/metrics`).then(
          (r) => (r.ok ? r.text() : ""),
          () => "",
        ),
      (text) => text.length > 0,
      60_000,
      250,
    );
    expect(metrics).toContain("# TYPE oms_jobs_total counter");
    expect(metrics).toContain('component="worker"');
    expect((await fetch(`http://${target}/readyz`)).status).toBe(200);
  }
}

it("gives each worker process its own /metrics port and lists them at /targets", async () => {
  const port = await freePortRun(QUEUES.length + 1);
  const groups = await startAutoscaler(port);
  expect(groups.map((g) => g.labels.queue).sort()).toEqual(QUEUES);
  const targets = groups.flatMap((g) => g.targets).sort();
  expect(targets).toEqual([1, 2, 3].map((i) => `127.0.0.1:${port + i}`));
  await expectWorkerMetrics(targets);
  // The autoscaler's own series stay on its own port.
  const base = `http://127.0.0.1:${port}`;
  expect(await (await fetch(`${base}/metrics`)).text()).toContain('oms_autoscale_ready_workers{queue="cart"');
}, 120_000);

it("a worker whose planned metrics port is taken still works, on a free port that /targets lists", async () => {
  await autoscaler?.stop(30_000);
  const port = await freePortRun(QUEUES.length + 1);
  squatter = createServer();
  await new Promise<void>((resolve) => squatter?.listen(port + 1, "127.0.0.1", resolve));
  const groups = await startAutoscaler(port);
  const targets = groups.flatMap((g) => g.targets);
  expect(targets).not.toContain(`127.0.0.1:${port + 1}`);
  expect(targets).toHaveLength(QUEUES.length);
  // Each answers /readyz 200: it consumes.
  await expectWorkerMetrics(targets);
}, 120_000);
