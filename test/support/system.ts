import type { ChildProcess } from "node:child_process";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { fileURLToPath } from "node:url";
import { createLogger, sourceCommand, spawnChild, waitUntilReady, type RedisClient } from "@oms/shared";
import { createApiDeps, createApiServer, createApp, type ApiDeps, type ApiWiring } from "@oms/api";
import { createWorkerDeps, startWorkers, type RunningWorkers, type WorkerDeps, type WorkerWiring } from "@oms/workers";
import { loadSystemConfig, type SystemConfig } from "./config";
import type { TestEnv } from "./env";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

export interface RunningApi {
  url: string;
  deps: ApiDeps;
  close(): Promise<void>;
}

/** The real Express app on an ephemeral port, in this process. */
export async function startApi(
  env: TestEnv<RedisClient>,
  overrides: Partial<SystemConfig> = {},
  wiring: ApiWiring = {},
): Promise<RunningApi> {
  const config = { ...env.config, ...overrides };
  const deps = await createApiDeps(config, createLogger(config.LOG_LEVEL, "api-test"), wiring);
  const server: Server = await new Promise((resolve) => {
    const s = createApiServer(createApp(deps), config).listen(0, "127.0.0.1", () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    deps,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await deps.close();
    },
  };
}

export interface InProcessWorkers {
  deps: WorkerDeps;
  running: RunningWorkers;
  close(): Promise<void>;
}

/** BullMQ workers in this process (for tests that do not need separate processes). */
export async function startInProcessWorkers(
  env: TestEnv<RedisClient>,
  overrides: Partial<SystemConfig> = {},
  wiring: WorkerWiring = {},
): Promise<InProcessWorkers> {
  const config = { ...env.config, ...overrides };
  const deps = createWorkerDeps(config, createLogger(config.LOG_LEVEL, "workers-test"), wiring);
  const running = await startWorkers(deps);
  return {
    deps,
    running,
    async close() {
      await running.close();
      await deps.close();
    },
  };
}

export interface WorkerProcess {
  child: ChildProcess;
  /** Its last lines of output. */
  tail(): string[];
  /** Resolves with its exit code when the process has exited. */
  exited: Promise<number | null>;
  /** Sends `signal` (SIGTERM: drain) and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * A separate worker process (`apps/workers/src/main.ts`, or another entry point such as
 * the chaos suite's), ready when it says so over the IPC channel ({type: "ready"}): its
 * log lines are for people and may change.
 */
export async function spawnWorkerProcess(
  env: TestEnv<RedisClient>,
  extraEnv: Record<string, string> = {},
  entry = "apps/workers/src/main.ts",
): Promise<WorkerProcess> {
  const child = spawnChild({
    name: "worker process",
    command: sourceCommand(entry, ROOT),
    env: { ...process.env, ...configToEnv(env.config), LOG_LEVEL: "info", ...extraEnv },
  });
  await waitUntilReady(child, { timeoutMs: 90_000 });
  const exited = child.exited.then((exit) => exit.code);
  return {
    child: child.process,
    tail: () => child.tail(),
    exited,
    async stop(signal: NodeJS.Signals = "SIGTERM") {
      child.signal(signal);
      return exited;
    },
  };
}

/** The environment that reproduces a test's config in a child process. */
export function configToEnv(config: SystemConfig): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(config)) {
    if (value === undefined) continue;
    env[key] = Array.isArray(value) ? value.map(listItemText).join(",") : String(value);
  }
  return env;
}

/** A list setting's item as its environment string: a name, or a node's `host:port`. */
function listItemText(item: unknown): string {
  if (typeof item === "object" && item !== null && "host" in item && "port" in item)
    return `${String(item.host)}:${String(item.port)}`;
  return String(item);
}

/** Re-parses a config with overrides given as environment strings (validated like start-up). */
export function withEnv(config: SystemConfig, overrides: Record<string, string>): SystemConfig {
  return loadSystemConfig({ ...configToEnv(config), ...overrides });
}

/** The response envelope; handlers add fields beside status and error. */
export interface ApiBody {
  status: string;
  error: string;
  [field: string]: unknown;
}

export interface ApiResponse<T = ApiBody> {
  status: number;
  body: T;
  headers: Headers;
}

export async function postJson<T = ApiBody>(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<ApiResponse<T>> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as T, headers: res.headers };
}

export async function getJson<T = ApiBody>(url: string): Promise<ApiResponse<T>> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as T, headers: res.headers };
}

/** Any method with an optional JSON body (PUT, DELETE, ...); the answer is always JSON. */
export async function requestJson<T = ApiBody>(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<ApiResponse<T>> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as T, headers: res.headers };
}

/** POST /addToCart that must succeed (200); for tests whose subject is what comes after. */
export async function addToCartOk(
  apiUrl: string,
  clientID: string,
  productID: string,
  quantity: number,
): Promise<void> {
  const res = await postJson(`${apiUrl}/addToCart`, { clientID, productID, quantity });
  if (res.status !== 200)
    throw new Error(`addToCart ${clientID} ${productID}: ${res.status} ${JSON.stringify(res.body)}`);
}
