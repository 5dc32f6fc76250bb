/** The system under test: real processes, or for a test runner the same parts in this process; and mariadbd's pid. */
import {
  ChildStartError,
  freePort,
  rawRows,
  sourceCommand,
  spawnChild,
  waitUntilReady,
  type Child,
  type Knex,
  errorMessage,
} from "@oms/shared";
import { z } from "zod";
import type { WatchedProcess } from "./phase";
import { ROOT, startApi, startInProcessWorkers, withEnv } from "../test/support/system";
import { readText } from "./stats";
import type { DesignId } from "./types";
import { DESIGN_WIRING } from "./wiring";
import type { World } from "./world";

/** Variables of ours that must not leak from the caller's environment into a child. */
const INHERITED_BLOCKLIST = /^(NODE_OPTIONS|VITEST.*|TEST_.*)$/;
/** How long a stopping process may drain before it is killed. */
const STOP_GRACE_MS = 15_000;
const START_TIMEOUT_MS = 120_000;

/** The entry point (a .ts file, run with tsx) each kind of process starts from. */
export type StackEntries = { api: string; workers: string };
type Counts = { apiProcesses: number; workerProcesses: number };

interface Stack {
  apis: Array<WatchedProcess & { origin: string }>;
  workers: WatchedProcess[];
  /** Each worker process's /metrics (empty in process, where workers serve none). */
  workerMetricsUrls: string[];
  startupSeconds: number;
  stop(): Promise<void>;
}

/** Processes started and not yet exited, so an interrupted run can stop them. */
const live = new Set<Child>();

export async function stopAllServices(): Promise<void> {
  await Promise.all([...live].map((child) => child.stop(STOP_GRACE_MS)));
}

/** A process of the system from its source; if this run dies, its IPC channel closes and it stops itself. */
function spawnService(name: string, entry: string, env: Record<string, string>): Child {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !INHERITED_BLOCKLIST.test(k)));
  const child = spawnChild({ name, command: sourceCommand(entry, ROOT), env: { ...inherited, ...env } });
  live.add(child);
  void child.exited.then(() => live.delete(child));
  return child;
}

const apiName = (i: number, n: number) => (n === 1 ? "api" : `api-${i + 1}`);
const origin = (port: number) => `http://127.0.0.1:${port}`;
const seconds = (since: number) => (performance.now() - since) / 1000;

/** Starts the workers and the API processes: ready when every worker consumes and every API answers /readyz. */
export async function startStack(env: Record<string, string>, counts: Counts, entries: StackEntries): Promise<Stack> {
  const started = performance.now();
  const ports: number[] = [];
  for (let i = 0; i < counts.workerProcesses + counts.apiProcesses; i++) ports.push(await freePort());
  const [workerPorts, apiPorts] = [ports.slice(0, counts.workerProcesses), ports.slice(counts.workerProcesses)];
  // Workers first (the World migrated the database: processes only check the schema).
  const workers = workerPorts.map((p, i) =>
    spawnService(`worker-${i + 1}`, entries.workers, { ...env, METRICS_PORT: `${p}` }),
  );
  const spawnApi = (p: number, i: number) =>
    spawnService(apiName(i, apiPorts.length), entries.api, { ...env, PORT: `${p}` });
  const apis = apiPorts.map((p, i) => Object.assign(spawnApi(p, i), { origin: origin(p) }));
  const all = [...apis, ...workers];
  const stop = async () => void (await Promise.all(all.map((child) => child.stop(STOP_GRACE_MS))));
  try {
    // An API is ready once workers beat, so its /readyz waits for them too.
    await Promise.all([
      ...workers.map((w) => waitUntilReady(w, { timeoutMs: START_TIMEOUT_MS })),
      ...apis.map((a) => waitUntilReady(a, { timeoutMs: START_TIMEOUT_MS, readyzUrl: `${a.origin}/readyz` })),
    ]);
  } catch (err) {
    await stop();
    const failed = err instanceof ChildStartError ? err.child : undefined;
    const others = all.filter((c) => c !== failed).map((c) => `--- ${c.name}\n${c.tail().join("\n")}`);
    throw new Error(`${errorMessage(err)}\n${others.join("\n")}`);
  }
  const workerMetricsUrls = workerPorts.map((p) => `${origin(p)}/metrics`);
  return { apis, workers, workerMetricsUrls, startupSeconds: seconds(started), stop };
}

/**
 * In-process mode (the quick form under a test runner): the API and the workers run in
 * this process, started as the test suite starts them, over real HTTP. Starting 2-3
 * processes per design costs ~5 CPU-seconds each; this costs almost none.
 */
export async function startInProcessStack(world: World, env: Record<string, string>, counts: Counts, design: DesignId) {
  const started = performance.now();
  const testEnv = { ...world, close: async () => undefined };
  const config = withEnv(world.config, { ...env, LOG_LEVEL: "error", PORT: "0" });
  const parts: Array<{ close(): Promise<void> }> = [];
  const stop = async () => {
    for (const p of parts.reverse()) await p.close().catch(() => undefined);
  };
  try {
    const pid = process.pid;
    const workers = Array.from({ length: counts.workerProcesses }, (_, i) => ({ name: `worker-${i + 1}`, pid }));
    for (const _ of workers) parts.push(await startInProcessWorkers(testEnv, config, DESIGN_WIRING[design].workers));
    const apis: Stack["apis"] = [];
    for (let i = 0; i < counts.apiProcesses; i++) {
      const api = await startApi(testEnv, config, DESIGN_WIRING[design].api);
      parts.push(api);
      apis.push({ name: apiName(i, counts.apiProcesses), pid, origin: api.url });
    }
    return { apis, workers, workerMetricsUrls: [], startupSeconds: seconds(started), stop } satisfies Stack;
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The pid of mariadbd (from its pid file), when readable here; null leaves its figures out. */
export async function mysqlPid(db: Knex): Promise<number | null> {
  const [row] = rawRows(z.object({ f: z.string().nullable() }), await db.raw("SELECT @@pid_file AS f"));
  return Number(readText(row?.f ?? "").trim()) || null;
}

/** The processes to measure: each part once (in process, this process), and mariadbd. */
export function watched(stack: Stack, mysql: number | null): WatchedProcess[] {
  const parts = [...stack.apis, ...stack.workers].filter((p, i, all) => all.findIndex((q) => q.pid === p.pid) === i);
  const list = parts.map((p) => ({ name: p.pid === process.pid ? "bench+system" : p.name, pid: p.pid }));
  return mysql ? [...list, { name: "mariadbd", pid: mysql }] : list;
}
