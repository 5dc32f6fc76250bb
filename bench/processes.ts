/**
 * The system under test as real processes: `node --import tsx apps/api/src/main.ts`
 * (one per port) and `apps/workers/src/main.ts`, each with its environment, and the
 * shared redis-server and mariadbd found by pid.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Redis } from "ioredis";
import type { Knex } from "@oms/shared";
import type { WatchedProcess } from "./proc";
import { sleep } from "./stats";

export const ROOT = fileURLToPath(new URL("../", import.meta.url));
const GUARD = fileURLToPath(new URL("./child-guard.ts", import.meta.url));

export interface Service {
  name: string;
  pid: number;
  child: ChildProcess;
  /** The last lines it printed (stdout and stderr). */
  output(): string;
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

export interface ServiceSpec {
  name: string;
  entry: string;
  env: Record<string, string>;
}

/** Services started and not yet stopped, so an interrupted run can stop them. */
const live = new Set<Service>();

export async function stopAllServices(): Promise<void> {
  await Promise.all([...live].map((s) => s.stop().catch(() => undefined)));
}

/** Variables of ours that must not leak from the caller's environment into a child. */
const INHERITED_BLOCKLIST = /^(NODE_OPTIONS|VITEST.*|TEST_.*)$/;

export function spawnService(spec: ServiceSpec): Service {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !INHERITED_BLOCKLIST.test(k)));
  const args = ["--import", "tsx", "--import", GUARD, spec.entry];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...inherited, ...spec.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (child.pid === undefined) throw new Error(`could not start ${spec.name}`);
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    for (const line of chunk.toString().split("\n")) {
      if (!line) continue;
      lines.push(line);
      if (lines.length > 40) lines.shift();
    }
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const service: Service = {
    name: spec.name,
    pid: child.pid,
    child,
    output: () => lines.join("\n"),
    exited,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const killed = await Promise.race([exited.then(() => false), sleep(15_000).then(() => true)]);
      if (killed) {
        child.kill("SIGKILL");
        await exited;
      }
    },
  };
  live.add(service);
  void exited.then(() => live.delete(service));
  return service;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface StackOptions {
  /** Environment shared by the API and the workers (prefix, database, design switches). */
  env: Record<string, string>;
  apiProcesses: number;
  workerProcesses: number;
  redis: Redis;
  heartbeatsKey: string;
  timeoutMs?: number;
}

/** A part of the system: a process of its own, or (in-process mode) a part of this one. */
export interface Part {
  name: string;
  pid: number;
}

export interface Stack {
  apis: Array<Part & { port: number; origin: string }>;
  workers: Part[];
  /** Each worker process's /metrics (empty in process, where workers serve none). */
  workerMetricsUrls: string[];
  startupSeconds: number;
  stop(): Promise<void>;
}

/** Starts the workers and the API processes and waits until every API answers /readyz with every worker beating. */
export async function startStack(opts: StackOptions): Promise<Stack> {
  const started = performance.now();
  const workers: Service[] = [];
  const workerMetricsUrls: string[] = [];
  const apis: Array<Service & { port: number; origin: string }> = [];
  const stop = async () => {
    await Promise.all([...apis, ...workers].map((s) => s.stop()));
  };
  try {
    // Workers first (the World migrated the database: processes only check the schema).
    for (let i = 0; i < opts.workerProcesses; i++) {
      const metricsPort = await freePort();
      workerMetricsUrls.push(`http://127.0.0.1:${metricsPort}/metrics`);
      workers.push(
        spawnService({
          name: `worker-${i + 1}`,
          entry: "apps/workers/src/main.ts",
          env: { ...opts.env, METRICS_PORT: String(metricsPort) },
        }),
      );
    }
    for (let i = 0; i < opts.apiProcesses; i++) {
      const port = await freePort();
      const service = spawnService({
        name: opts.apiProcesses === 1 ? "api" : `api-${i + 1}`,
        entry: "apps/api/src/main.ts",
        env: { ...opts.env, PORT: String(port) },
      });
      apis.push(Object.assign(service, { port, origin: `http://127.0.0.1:${port}` }));
    }
    const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
    for (;;) {
      const dead = [...apis, ...workers].find((s) => s.child.exitCode !== null || s.child.signalCode !== null);
      if (dead) throw new Error(`${dead.name} exited during start-up:\n${dead.output()}`);
      const beating = await opts.redis.zcount(opts.heartbeatsKey, Date.now() - 15_000, "+inf");
      const ready =
        beating >= opts.workerProcesses &&
        (
          await Promise.all(
            apis.map((a) =>
              fetch(`${a.origin}/readyz`).then(
                (r) => r.ok,
                () => false,
              ),
            ),
          )
        ).every(Boolean);
      if (ready) break;
      if (Date.now() > deadline)
        throw new Error(
          `the system did not become ready in ${(opts.timeoutMs ?? 120_000) / 1000}s (${beating} worker heartbeats):\n` +
            [...apis, ...workers].map((s) => `--- ${s.name}\n${s.output()}`).join("\n"),
        );
      await sleep(200);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { apis, workers, workerMetricsUrls, startupSeconds: (performance.now() - started) / 1000, stop };
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
  const file = rows[0]?.f;
  let mysqlPid = 0;
  try {
    mysqlPid = file ? Number(readFileSync(file, "utf8").trim()) : 0;
  } catch {
    // Not readable here: the figures for MariaDB will be missing.
  }
  return { redis: running(redisPid), mysql: running(mysqlPid) };
}

export function watched(stack: Stack | null, infra: InfraPids): WatchedProcess[] {
  const list: WatchedProcess[] = [];
  const own = new Set<number>();
  for (const s of stack ? [...stack.apis, ...stack.workers] : []) {
    // In-process mode: the parts are this process, counted once.
    if (own.has(s.pid)) continue;
    own.add(s.pid);
    list.push({ name: s.pid === process.pid ? "bench+system" : s.name, pid: s.pid });
  }
  if (infra.redis) list.push({ name: "redis-server", pid: infra.redis });
  if (infra.mysql) list.push({ name: "mariadbd", pid: infra.mysql });
  return list;
}

/**
 * In-process mode (the quick form under a test runner): the API and the workers run in
 * this process, built from the same factories the entry points use, over real HTTP.
 * Starting 2-3 processes per design costs ~5 CPU-seconds each; this costs almost none.
 */
export async function startInProcessStack(opts: {
  env: Record<string, string>;
  apiProcesses: number;
  workerProcesses: number;
}): Promise<Stack> {
  const started = performance.now();
  const { createLogger, loadConfig } = await import("@oms/shared");
  const { createApiDeps, createApp } = await import("@oms/api");
  const { createWorkerDeps, startWorkers } = await import("@oms/workers");
  const config = loadConfig({ ...opts.env, LOG_LEVEL: "error", PORT: "0" });
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  try {
    const workers: Part[] = [];
    for (let i = 0; i < opts.workerProcesses; i++) {
      const deps = createWorkerDeps(config, createLogger(config.LOG_LEVEL, "workers"));
      const running = await startWorkers(deps);
      stops.push(async () => {
        await running.close();
        await deps.close();
      });
      workers.push({ name: `worker-${i + 1}`, pid: process.pid });
    }
    const apis: Stack["apis"] = [];
    for (let i = 0; i < opts.apiProcesses; i++) {
      const deps = await createApiDeps(config, createLogger(config.LOG_LEVEL, "api"));
      const server = await new Promise<import("node:http").Server>((resolve) => {
        const s = createApp(deps).listen(0, "127.0.0.1", () => resolve(s));
      });
      stops.push(async () => {
        server.closeAllConnections();
        await new Promise<void>((r) => server.close(() => r()));
        await deps.close();
      });
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      apis.push({
        name: opts.apiProcesses === 1 ? "api" : `api-${i + 1}`,
        pid: process.pid,
        port,
        origin: `http://127.0.0.1:${port}`,
      });
    }
    return { apis, workers, workerMetricsUrls: [], startupSeconds: (performance.now() - started) / 1000, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
