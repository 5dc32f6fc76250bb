/**
 * The system under test: real processes (`node --import tsx apps/api/src/main.ts`, one
 * per port, and `apps/workers/src/main.ts`, or a design's own entry points in bench/entry/)
 * or, for a test runner, the same parts inside this process; and the shared redis-server
 * and mariadbd, found by pid.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import type { Redis } from "ioredis";
import type { Knex, RedisClient } from "@oms/shared";
import { freePort } from "../test/chaos/infra";
import type { WatchedProcess } from "./proc";
import type { DesignId } from "./types";
import { sleep } from "./stats";

export const ROOT = fileURLToPath(new URL("../", import.meta.url));
const GUARD = fileURLToPath(new URL("./child-guard.ts", import.meta.url));
/** Variables of ours that must not leak from the caller's environment into a child. */
const INHERITED_BLOCKLIST = /^(NODE_OPTIONS|VITEST.*|TEST_.*)$/;

/** A part of the system: a process of its own, or (in-process mode) a part of this one. */
export interface Part {
  name: string;
  pid: number;
}

/** The entry point (a .ts file, run with tsx) each kind of process starts from. */
export interface StackEntries {
  api: string;
  workers: string;
}

export interface Stack {
  apis: Array<Part & { origin: string }>;
  workers: Part[];
  /** Each worker process's /metrics (empty in process, where workers serve none). */
  workerMetricsUrls: string[];
  startupSeconds: number;
  stop(): Promise<void>;
}

interface Service extends Part {
  child: ChildProcess;
  /** The last lines it printed (stdout and stderr). */
  output(): string;
  stop(): Promise<void>;
}

/** Services started and not yet stopped, so an interrupted run can stop them. */
const live = new Set<Service>();

export async function stopAllServices(): Promise<void> {
  await Promise.all([...live].map((s) => s.stop().catch(() => undefined)));
}

function spawnService(name: string, entry: string, env: Record<string, string>): Service {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !INHERITED_BLOCKLIST.test(k)));
  const child = spawn(process.execPath, ["--import", "tsx", "--import", GUARD, entry], {
    cwd: ROOT,
    env: { ...inherited, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (child.pid === undefined) throw new Error(`could not start ${name}`);
  const lines: string[] = [];
  const keep = (chunk: Buffer) => lines.push(...chunk.toString().split("\n").filter(Boolean));
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const service: Service = {
    name,
    pid: child.pid,
    child,
    output: () => lines.slice(-40).join("\n"),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      if (await Promise.race([exited.then(() => false), sleep(15_000).then(() => true)])) child.kill("SIGKILL");
      await exited;
    },
  };
  live.add(service);
  void exited.then(() => live.delete(service));
  return service;
}

const apiName = (i: number, n: number) => (n === 1 ? "api" : `api-${i + 1}`);
const origin = (port: number) => `http://127.0.0.1:${port}`;

/** Starts the workers and the API processes and waits until every API answers /readyz with every worker beating. */
export async function startStack(
  env: Record<string, string>,
  counts: { apiProcesses: number; workerProcesses: number },
  heartbeats: { redis: RedisClient; key: string },
  entries: StackEntries,
): Promise<Stack> {
  const started = performance.now();
  const ports = async (n: number) => {
    const list: number[] = [];
    for (let i = 0; i < n; i++) list.push(await freePort());
    return list;
  };
  const [workerPorts, apiPorts] = [await ports(counts.workerProcesses), await ports(counts.apiProcesses)];
  // Workers first (the World migrated the database: processes only check the schema).
  const workers = workerPorts.map((p, i) =>
    spawnService(`worker-${i + 1}`, entries.workers, { ...env, METRICS_PORT: String(p) }),
  );
  const apis = apiPorts.map((port, i) => {
    const api = spawnService(apiName(i, apiPorts.length), entries.api, { ...env, PORT: String(port) });
    return Object.assign(api, { origin: origin(port) });
  });
  const all = [...apis, ...workers];
  const stop = async () => void (await Promise.all(all.map((s) => s.stop())));
  const readyz = (a: { origin: string }) =>
    fetch(`${a.origin}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
  const deadline = Date.now() + 120_000;
  for (;;) {
    const dead = all.find((s) => s.child.exitCode !== null || s.child.signalCode !== null);
    const beating = await heartbeats.redis.zcount(heartbeats.key, Date.now() - 15_000, "+inf");
    if (!dead && beating >= workers.length && (await Promise.all(apis.map(readyz))).every(Boolean)) break;
    if (dead || Date.now() > deadline) {
      await stop();
      const why = dead ? `${dead.name} exited during start-up` : `not ready in 120 s (${beating} worker heartbeats)`;
      throw new Error(`${why}:\n${all.map((s) => `--- ${s.name}\n${s.output()}`).join("\n")}`);
    }
    await sleep(200);
  }
  const workerMetricsUrls = workerPorts.map((p) => `${origin(p)}/metrics`);
  return { apis, workers, workerMetricsUrls, startupSeconds: (performance.now() - started) / 1000, stop };
}

/**
 * In-process mode (the quick form under a test runner): the API and the workers run in
 * this process, built from the same factories the entry points use, over real HTTP.
 * Starting 2-3 processes per design costs ~5 CPU-seconds each; this costs almost none.
 */
export async function startInProcessStack(
  env: Record<string, string>,
  counts: { apiProcesses: number; workerProcesses: number },
  design: DesignId,
): Promise<Stack> {
  const started = performance.now();
  const { createLogger, loadApiConfig, loadWorkerConfig } = await import("@oms/shared");
  const { createApiDeps, createApp } = await import("@oms/api");
  const { createWorkerDeps, startWorkers } = await import("@oms/workers");
  const wiring = (await import("./wiring")).DESIGN_WIRING[design];
  const processEnv = { ...env, LOG_LEVEL: "error", PORT: "0" };
  const [apiConfig, workerConfig] = [loadApiConfig(processEnv), loadWorkerConfig(processEnv)];
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  try {
    const workers: Part[] = [];
    for (let i = 0; i < counts.workerProcesses; i++) {
      const deps = createWorkerDeps(workerConfig, createLogger(workerConfig.LOG_LEVEL, "workers"), wiring.workers);
      const running = await startWorkers(deps);
      stops.push(() => running.close().then(() => deps.close()));
      workers.push({ name: `worker-${i + 1}`, pid: process.pid });
    }
    const apis: Stack["apis"] = [];
    for (let i = 0; i < counts.apiProcesses; i++) {
      const deps = await createApiDeps(apiConfig, createLogger(apiConfig.LOG_LEVEL, "api"), wiring.api);
      const server = await new Promise<Server>((resolve) => {
        const s = createApp(deps).listen(0, "127.0.0.1", () => resolve(s));
      });
      stops.push(async () => {
        server.closeAllConnections();
        await new Promise<void>((r) => server.close(() => r()));
        await deps.close();
      });
      const { port } = server.address() as AddressInfo;
      apis.push({ name: apiName(i, counts.apiProcesses), pid: process.pid, origin: origin(port) });
    }
    return { apis, workers, workerMetricsUrls: [], startupSeconds: (performance.now() - started) / 1000, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

export interface InfraPids {
  redis: number | null;
  mysql: number | null;
}

/** The pids of redis-server (from INFO) and mariadbd (from its pid file); null when not found. */
export async function infraPids(redis: Redis, db: Knex): Promise<InfraPids> {
  const running = (pid: number) => (pid > 0 && existsSync(`/proc/${pid}/stat`) ? pid : null);
  const redisPid = Number(/process_id:(\d+)/.exec(await redis.info("server"))?.[1] ?? 0);
  const [rows] = (await db.raw("SELECT @@pid_file AS f")) as [Array<{ f: string }>];
  let mysqlPid = 0;
  try {
    mysqlPid = Number(readFileSync(rows[0]?.f ?? "", "utf8").trim());
  } catch {
    // Not readable here: the figures for MariaDB will be missing.
  }
  return { redis: running(redisPid), mysql: running(mysqlPid) };
}

/** The processes to measure: each part once (in process, this process), redis-server and mariadbd. */
export function watched(stack: Stack, infra: InfraPids): WatchedProcess[] {
  const parts = [...stack.apis, ...stack.workers].filter((p, i, all) => all.findIndex((q) => q.pid === p.pid) === i);
  const list = parts.map((p) => ({ name: p.pid === process.pid ? "bench+system" : p.name, pid: p.pid }));
  if (infra.redis) list.push({ name: "redis-server", pid: infra.redis });
  if (infra.mysql) list.push({ name: "mariadbd", pid: infra.mysql });
  return list;
}
