/**
 * The workers `npm start` runs serve their own metrics: the autoscaler, started as
 * `npm start` starts it (the same spawner, entry and IPC readiness), gives each worker
 * a port from AUTOSCALE_METRICS_PORT + 1 up and lists them at /targets in Prometheus's
 * HTTP service discovery format. Every listed worker answers /metrics and /readyz.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { entryCommand, freePortRun, spawnChild, waitFor, waitUntilReady, type Child } from "@oms/shared";
import { createTestEnv, type TestEnv } from "../../../test/support/env";
import { configToEnv } from "../../../test/support/system";

const QUEUES = ["cart", "checkout", "inventory"];

let env: TestEnv;
let autoscaler: Child | undefined;

beforeAll(async () => {
  env = await createTestEnv();
});

afterAll(async () => {
  await autoscaler?.stop(30_000);
  await env?.close();
});

interface TargetGroup {
  targets: string[];
  labels: Record<string, string>;
}

it("gives each worker process its own /metrics port and lists them at /targets", async () => {
  const port = await freePortRun(QUEUES.length + 1);
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
  const base = `http://127.0.0.1:${port}`;
  const groups = await waitFor(
    "a target per queue",
    async () => (await (await fetch(`${base}/targets`)).json()) as TargetGroup[],
    (list) => list.length === QUEUES.length && list.every((g) => g.targets.length === 1),
    30_000,
  );
  expect(groups.map((g) => g.labels.queue).sort()).toEqual(QUEUES);
  const targets = groups.flatMap((g) => g.targets).sort();
  expect(targets).toEqual([1, 2, 3].map((i) => `127.0.0.1:${port + i}`));

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
  // The autoscaler's own series stay on its own port.
  expect(await (await fetch(`${base}/metrics`)).text()).toContain('oms_autoscale_ready_workers{queue="cart"');
}, 120_000);
