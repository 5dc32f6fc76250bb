/**
 * A process's own metrics endpoint listens on HOST, like the API (review finding 14: the
 * autoscaler's /metrics bound 0.0.0.0 with HOST=127.0.0.1). Each process is started as
 * production starts it, and reached on loopback and on this machine's other address.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { connect, createServer } from "node:net";
import { networkInterfaces } from "node:os";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
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

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      const port = typeof address === "object" && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

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

async function spawnAutoscaler(extraEnv: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", "apps/workers/src/autoscale/main.ts"], {
    cwd: ROOT,
    env: { ...process.env, ...configToEnv(env.config), LOG_LEVEL: "info", AUTOSCALE_OBSERVE_ONLY: "true", ...extraEnv },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`autoscaler did not start in 60 s:\n${output}`)), 60_000);
    child.stdout?.on("data", (c: Buffer) => {
      output += c.toString();
      if (output.includes("autoscaler started")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr?.on("data", (c: Buffer) => (output += c.toString()));
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`autoscaler exited with ${code}:\n${output}`));
    });
  });
  stops.push(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await exited;
  });
  return child;
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
