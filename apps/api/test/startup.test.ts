/**
 * Start-up as an operator runs it: migrating is its own step (`npm run migrate`); the
 * API, worker and autoscaler processes refuse a database that step has not brought up
 * to date. Bad configuration, and the migrate and seed scripts.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SETTING_NAMES, ENTRIES, createDb, freePort } from "@oms/shared";
import { DEMO_CATALOG, migrateDown } from "@oms/migrations";
import { MYSQL_URL, REDIS_URL, createStandaloneTestEnv, type TestEnv } from "../../../test/support/env";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const TABLES = [
  "cart_operations",
  "client_cart",
  "order_items",
  "orders",
  "payments",
  "product_details",
  "reserve_purchase",
];
const ORIGINAL_SEED = DEMO_CATALOG[0]!;

let env: TestEnv<Redis>;
const databases: string[] = [];
const prefixes: string[] = [];
const children = new Set<ChildProcess>();

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

// ---------------------------------------------------------------- helpers

/** A database name of this run that does not exist yet (dropped in afterAll). */
async function freshDatabase(tag: string): Promise<string> {
  const name = `oms_${tag}_${randomBytes(5).toString("hex")}`;
  databases.push(name);
  expect(await databaseExists(name)).toBe(false);
  return name;
}

function freshPrefix(tag: string): string {
  const prefix = `${env.id}_${tag}`;
  prefixes.push(prefix);
  return prefix;
}

async function databaseExists(name: string): Promise<boolean> {
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

interface Spawned {
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
function startProcess(entry: string, settings: Record<string, string>): Spawned {
  return start(process.execPath, ["--import", "tsx", entry], settings);
}

function startApiProcess(settings: Record<string, string>): Spawned {
  return startProcess(ENTRIES.api, settings);
}

/** Runs a script to its end (bounded) and returns its exit code and output. */
async function runScript(script: string, settings: Record<string, string>) {
  const run = start("npx", ["tsx", script], settings);
  const result = await within(run.exited, 60_000, `${script} did not finish`);
  return { ...result, ...run.output() };
}

async function within<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${message} within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls GET /healthz until it answers 200; fails early when the process exits. */
async function waitHealthy(url: string, api: Spawned, timeoutMs = 90_000): Promise<void> {
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

async function tablesOf(database: string): Promise<Array<{ name: string; collation: string }>> {
  const rows = (await env
    .db("information_schema.TABLES")
    .where({ TABLE_SCHEMA: database })
    .orderBy("TABLE_NAME")
    .select({ name: "TABLE_NAME", collation: "TABLE_COLLATION" })) as Array<{ name: string; collation: string }>;
  return rows;
}

async function databaseCollation(database: string): Promise<string | undefined> {
  const row = (await env
    .db("information_schema.SCHEMATA")
    .where({ SCHEMA_NAME: database })
    .first({ collation: "DEFAULT_COLLATION_NAME" })) as { collation: string } | undefined;
  return row?.collation;
}

async function expectSchema(database: string): Promise<void> {
  expect(await databaseCollation(database)).toBe("utf8mb4_unicode_ci");
  const tables = await tablesOf(database);
  const names = tables.map((t) => t.name);
  for (const table of TABLES) expect(names, `table ${table}`).toContain(table);
  for (const table of tables.filter((t) => TABLES.includes(t.name))) {
    expect(table.collation, `collation of ${table.name}`).toBe("utf8mb4_unicode_ci");
  }
}

async function products(
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

// ---------------------------------------------------------------- the API process

describe("API, worker and autoscaler start-up: migrating is a step of its own", () => {
  it.each([
    ["API", ENTRIES.api],
    ["workers", ENTRIES.workers],
    ["autoscaler", ENTRIES.autoscaler],
  ])(
    "%s: exits non-zero against an unmigrated database, naming `npm run migrate`, and creates nothing",
    async (what, entry) => {
      const database = await freshDatabase("unmigrated");
      const proc = startProcess(entry, {
        HOST: "127.0.0.1",
        PORT: "0",
        METRICS_PORT: "0",
        AUTOSCALE_METRICS_PORT: "0",
        DATABASE_URL: `${MYSQL_URL}/${database}`,
        REDIS_PREFIX: freshPrefix("unmigrated"),
      });

      const exit = await within(proc.exited, 90_000, `the ${what} did not exit on an unmigrated database`);

      const { stdout, stderr } = proc.output();
      expect(exit.code, `${stdout}\n${stderr}`).toBe(1);
      expect(stderr).toContain(`${what} failed to start: the database "${database}" is not migrated`);
      expect(stderr).toContain("001_initial");
      expect(stderr).toContain("`npm run migrate`");
      // Checking is read-only: no database, let alone tables, appears.
      expect(await databaseExists(database)).toBe(false);
    },
    120_000,
  );

  it("after `npm run migrate` the API starts, serves, neither migrates nor seeds, and stops cleanly on SIGTERM", async () => {
    const database = await freshDatabase("start");
    const settings = { DATABASE_URL: `${MYSQL_URL}/${database}` };
    const migrate = await runScript("scripts/migrate.ts", settings);
    expect(migrate.code, migrate.stderr).toBe(0);
    const migrations = (await env.db(`${database}.knex_migrations`).pluck("name")) as string[];

    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const api = startProcess(ENTRIES.api, {
      ...settings,
      HOST: "127.0.0.1",
      PORT: String(port),
      REDIS_PREFIX: freshPrefix("start"),
      // Read by `npm start` only: the API never seeds, whatever this says.
      SEED_ON_START: "true",
    });
    await waitHealthy(url, api);

    const res = await fetch(`${url}/products`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { status: string; products: unknown[] };
    expect(body).toMatchObject({ status: "Success", products: [] });
    expect(await products(database)).toEqual([]);
    expect((await env.db(`${database}.knex_migrations`).pluck("name")) as string[]).toEqual(migrations);

    api.child.kill("SIGTERM");
    const exit = await within(api.exited, 10_000, "the API did not exit after SIGTERM");
    expect(exit, api.output().stderr).toEqual({ code: 0, signal: null });
  }, 180_000);

  it("refuses a database an older release migrated, naming the pending migration; migrate applies just that", async () => {
    const database = await freshDatabase("behind");
    const settings = { DATABASE_URL: `${MYSQL_URL}/${database}` };
    expect((await runScript("scripts/migrate.ts", settings)).code).toBe(0);
    // The newest migration undone: the schema is one release behind this code.
    const db = createDb(settings.DATABASE_URL, 1);
    const [newest] = await migrateDown(db).finally(() => db.destroy());
    expect(newest).toBeDefined();

    const api = startProcess(ENTRIES.api, {
      ...settings,
      HOST: "127.0.0.1",
      PORT: "0",
      REDIS_PREFIX: freshPrefix("behind"),
    });
    const exit = await within(api.exited, 90_000, "the API did not exit on a schema one migration behind");
    expect(exit.code).toBe(1);
    expect(api.output().stderr).toContain(`(pending: ${newest})`);

    const migrate = await runScript("scripts/migrate.ts", settings);
    expect(migrate.code, migrate.stderr).toBe(0);
    expect(migrate.stdout).toContain(`applied: ${newest}\n`);
  }, 180_000);

  // One bad value through a real process; every setting's validation is covered by
  // packages/shared/test/config.test.ts without paying a process start each.
  it.each([
    ["PORT", "abc"],
    ["REDIS_URL", "not-a-url"],
  ])(
    "exits non-zero when %s=%s, naming the setting on stderr",
    async (setting, value) => {
      const database = await freshDatabase("badcfg");
      const api = startApiProcess({
        HOST: "127.0.0.1",
        PORT: "0",
        DATABASE_URL: `${MYSQL_URL}/${database}`,
        REDIS_PREFIX: freshPrefix("badcfg"),
        [setting]: value,
      });

      const exit = await within(api.exited, 90_000, `the API did not exit with ${setting}=${value}`);

      const { stdout, stderr } = api.output();
      expect(exit.code, `${stdout}\n${stderr}`).not.toBe(0);
      expect(exit.code).not.toBeNull();
      expect(stderr).toMatch(/Invalid configuration/);
      expect(stderr).toContain(setting);
      // It stopped before touching anything.
      expect(await databaseExists(database)).toBe(false);
    },
    120_000,
  );

  it("exits non-zero naming DATABASE_URL when it names an unusable database", async () => {
    const api = startApiProcess({
      HOST: "127.0.0.1",
      PORT: "0",
      DATABASE_URL: `${MYSQL_URL}/bad-name`,
      REDIS_PREFIX: freshPrefix("baddb"),
    });

    const exit = await within(api.exited, 90_000, "the API did not exit with a bad database name");

    expect(exit.code).not.toBe(0);
    expect(exit.code).not.toBeNull();
    expect(api.output().stderr).toMatch(/DATABASE_URL/);
  }, 120_000);
});

// ---------------------------------------------------------------- scripts

describe("npm run migrate / npm run seed", () => {
  it("migrate creates the database and schema, and a second run says the schema is up to date", async () => {
    const database = await freshDatabase("migrate");
    const settings = { DATABASE_URL: `${MYSQL_URL}/${database}` };

    const first = await runScript("scripts/migrate.ts", settings);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/applied: .*001_initial/);
    await expectSchema(database);
    const migrations = (await env.db(`${database}.knex_migrations`).pluck("name")) as string[];
    expect(migrations).toContain("001_initial");

    const second = await runScript("scripts/migrate.ts", settings);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/schema is up to date/);
    expect(second.stdout).not.toMatch(/applied:/);
    expect((await env.db(`${database}.knex_migrations`).pluck("name")) as string[]).toEqual(migrations);
  }, 120_000);

  it("seed inserts the demo catalog once, leaving existing products as they are", async () => {
    const database = await freshDatabase("seed");
    const settings = { DATABASE_URL: `${MYSQL_URL}/${database}` };

    const first = await runScript("scripts/seed.ts", settings);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain(`demo catalog: ${DEMO_CATALOG.length} product(s) inserted`);
    await expectSchema(database);
    expect(await products(database)).toEqual(
      DEMO_CATALOG.map((p) => ({ product_id: p.product_id, product_name: p.product_name, quantity: p.quantity })).sort(
        (a, b) => a.product_id.localeCompare(b.product_id),
      ),
    );

    await env.db(`${database}.product_details`).where({ product_id: ORIGINAL_SEED.product_id }).update({ quantity: 2 });

    const second = await runScript("scripts/seed.ts", settings);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain("demo catalog: 0 product(s) inserted");
    const rows = await products(database);
    expect(rows).toHaveLength(DEMO_CATALOG.length);
    expect(rows.find((r) => r.product_id === ORIGINAL_SEED.product_id)?.quantity).toBe(2);
  }, 120_000);
});
