/**
 * Scratch databases and key prefixes, and the processes and scripts an operator starts,
 * for the startup-*.test.ts files (not a test file itself). The processes run from source
 * in child processes with this process's environment minus the system's settings; the
 * databases and prefixes a test asks for are dropped, and the processes still running
 * are killed, after the file's tests. On the one standalone Redis: the clean-up scans it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, expect } from "vitest";
import { SETTING_NAMES, ENTRIES, withTimeout } from "@oms/shared";
import { REDIS_URL, createStandaloneTestEnv, type TestEnv } from "../../../../test/support/env";

const ROOT = fileURLToPath(new URL("../../../../", import.meta.url));
export let env: TestEnv<Redis>;
const databases: string[] = [];
const prefixes: string[] = [];
const children = new Set<ChildProcess>();

/** Opens this file's env, and after its tests kills its processes and drops what they made. */
export function setUpStartup(): void {
  beforeAll(async () => {
    env = await createStandaloneTestEnv();
  });

  afterAll(async () => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
    if (!env) return;
    for (const name of databases) await env.db.raw(`DROP DATABASE IF EXISTS \`${name}\``);
    for (const prefix of prefixes) {
      const stream = env.redis.scanStream({ match: `{${prefix}}*`, count: 1000 });
      for await (const batch of stream as AsyncIterable<string[]>) {
        if (batch.length) await env.redis.unlink(...batch);
      }
    }
    await env.close();
  });
}

/** A database name of this run that does not exist yet (dropped in afterAll). */
export async function freshDatabase(tag: string): Promise<string> {
  const name = `oms_${tag}_${randomBytes(5).toString("hex")}`;
  databases.push(name);
  expect(await databaseExists(name)).toBe(false);
  return name;
}

export function freshPrefix(tag: string): string {
  const prefix = `${env.id}_${tag}`;
  prefixes.push(prefix);
  return prefix;
}

export async function databaseExists(name: string): Promise<boolean> {
  const rows = (await env
    .db("information_schema.SCHEMATA")
    .where({ SCHEMA_NAME: name })
    .select("SCHEMA_NAME")) as unknown[];
  return rows.length === 1;
}

/** This process's environment without any of the system's settings, plus the given ones. */
function childEnv(settings: Record<string, string>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { ...process.env };
  for (const key of SETTING_NAMES) delete base[key];
  return { ...base, REDIS_URL, LOG_LEVEL: "info", ...settings };
}

export interface Spawned {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): { stdout: string; stderr: string };
}

function start(command: string, args: string[], settings: Record<string, string>): Spawned {
  const child = spawn(command, args, { cwd: ROOT, env: childEnv(settings), stdio: ["ignore", "pipe", "pipe"] });
  children.add(child);
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr?.on("data", (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  return { child, exited, output: () => ({ stdout, stderr }) };
}

/** An entry point run from its source, as `npm run api` (and tests) do. */
export function startProcess(entry: string, settings: Record<string, string>): Spawned {
  return start(process.execPath, ["--import", "tsx", entry], settings);
}

export function startApiProcess(settings: Record<string, string>): Spawned {
  return startProcess(ENTRIES.api, settings);
}

/** Runs a script to its end (bounded) and returns its exit code and output. */
export async function runScript(script: string, settings: Record<string, string>) {
  const run = start("npx", ["tsx", script], settings);
  const result = await withTimeout(run.exited, 60_000, `tsx ${script}`);
  return { ...result, ...run.output() };
}

/** Polls GET /healthz until it answers 200; fails early when the process exits. */
export async function waitHealthy(url: string, api: Spawned, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void api.exited.then(() => (exited = true));
  while (Date.now() < deadline) {
    if (exited) {
      const { stdout, stderr } = api.output();
      throw new Error(`the API exited before answering /healthz:\n${stdout}\n${stderr}`);
    }
    try {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1_000) });
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const { stdout, stderr } = api.output();
  throw new Error(`the API did not answer /healthz in ${timeoutMs} ms:\n${stdout}\n${stderr}`);
}

/** The products of a scratch database, in product id order. */
export async function products(
  database: string,
): Promise<Array<{ product_id: string; product_name: string; quantity: number }>> {
  return (await env
    .db(`${database}.product_details`)
    .orderBy("product_id")
    .select("product_id", "product_name", "quantity")) as Array<{
    product_id: string;
    product_name: string;
    quantity: number;
  }>;
}
