/**
 * A worker told to stop while Redis cannot be reached must still exit within its grace
 * time. The chaos suite on a Redis Cluster found an autoscaler's worker outliving it by
 * more than 15 s: its supervisor was SIGKILLed during a failover, and closing the
 * queues' connections waited for the dead node to answer QUIT. Here Redis is simply
 * down (SIGKILLed, not restarted) when the worker gets SIGTERM.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { OwnRedis, freePort } from "../../../test/chaos/infra";
import { createTestEnv, type TestEnv } from "../../../test/support/env";
import { configToEnv } from "../../../test/support/system";
import { waitFor } from "./fixtures/autoscale-support";
import { isGone, killAll, spawnEntry, type AutoscalerProcess } from "./fixtures/processes";

const GRACE_MS = 2_000;

let dir: string;
let redis: OwnRedis;
let env: TestEnv;
let worker: AutoscalerProcess | undefined;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "oms-shutdown-"));
  redis = new OwnRedis(await freePort(), dir);
  await redis.start();
  env = await createTestEnv({ REDIS_URL: redis.url, SHUTDOWN_GRACE_MS: String(GRACE_MS) });
});

afterAll(async () => {
  killAll([worker?.child.pid ?? -1]);
  try {
    // Back up (empty) so the test env can clean its keys and close.
    await redis.restart(0);
    await waitFor("the test's connection back", () => env.redis.status === "ready", 20_000);
    await env?.close();
  } finally {
    // Our own server, whatever happened above: it must not outlive the test.
    await redis?.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);

it("a worker stopped while Redis is down exits within its grace time, not when Redis returns", async () => {
  const started = spawnEntry("apps/workers/src/main.ts", {
    ...process.env,
    ...configToEnv(env.config),
    LOG_LEVEL: "info",
    METRICS_PORT: "0",
  });
  worker = started;
  await waitFor("the worker consuming", () => started.workerPids.size === 1, 90_000).catch((err: Error) => {
    throw new Error(`${err.message}\n${started.output.slice(-30).join("\n")}`);
  });
  const pid = started.child.pid ?? -1;

  await redis.kill();
  const stoppedAt = Date.now();
  started.child.kill("SIGTERM");
  // The grace time, plus room for closing MySQL and a busy machine; Redis never comes back meanwhile.
  await waitFor("the worker exited", () => isGone(pid), GRACE_MS + 8_000).catch((err: Error) => {
    throw new Error(`${err.message}\n${started.output.slice(-15).join("\n")}`);
  });
  expect(Date.now() - stoppedAt).toBeLessThan(GRACE_MS + 8_000);
}, 180_000);
