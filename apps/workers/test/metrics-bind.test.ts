/**
 * A process's own metrics endpoint listens on HOST, like the API (review finding 14: the
 * autoscaler's /metrics bound 0.0.0.0 with HOST=127.0.0.1). Each process is started as
 * production starts it, and reached on loopback and on this machine's other address.
 */
import { randomBytes } from "node:crypto";
import { connect } from "node:net";
import { networkInterfaces } from "node:os";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ENTRIES, freePort, sourceCommand, spawnChild, waitUntilReady } from "@oms/shared";
import { createTestEnv, type TestEnv } from "../../../test/support/env";
import { configToEnv, spawnWorkerProcess } from "../../../test/support/system";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

let env: TestEnv;
const stops: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  env = await createTestEnv();
});

afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

afterAll(async () => {
  await env?.close();
});

/** An address of this machine that is not loopback, if it has one. */
const outside = Object.values(networkInterfaces())
  .flat()
  .find((i) => i && !i.internal && i.family === "IPv4")?.address;

/** Whether a TCP connection to host:port is accepted. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, host, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
    socket.setTimeout(2_000, () => {
      socket.destroy();
      resolve(false);
    });
  });
}

async function spawnAutoscaler(extraEnv: Record<string, string>): Promise<void> {
  const child = spawnChild({
    name: "autoscaler",
    command: sourceCommand(ENTRIES.autoscaler, ROOT),
    env: { ...process.env, ...configToEnv(env.config), LOG_LEVEL: "info", AUTOSCALE_OBSERVE_ONLY: "true", ...extraEnv },
  });
  stops.push(() => child.stop(10_000));
  await waitUntilReady(child, { timeoutMs: 60_000 });
}

describe("metrics endpoints listen on HOST", () => {
  it.runIf(outside)("the autoscaler's /metrics with HOST=127.0.0.1 answers on loopback only", async () => {
    const port = await freePort();
    await spawnAutoscaler({
      HOST: "127.0.0.1",
      AUTOSCALE_METRICS_PORT: String(port),
      REDIS_PREFIX: `bind${randomBytes(3).toString("hex")}`,
    });
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    expect(await accepts(outside ?? "", port)).toBe(false);
  });

  it.runIf(outside)("a worker's METRICS_PORT with HOST=127.0.0.1 answers on loopback only", async () => {
    const port = await freePort();
    const worker = await spawnWorkerProcess(env, {
      HOST: "127.0.0.1",
      METRICS_PORT: String(port),
      WORKER_QUEUES: "cart",
    });
    stops.push(() => worker.stop());
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    expect(await accepts(outside ?? "", port)).toBe(false);
  });
});
