/**
 * The compiled runtime: `npm run build` bundles every entry point into dist/ (the
 * workspace packages inside, every other dependency left to node_modules, the Lua
 * scripts beside the bundles), and the built `npm start` runs the local demo from those
 * files alone: it creates and migrates the database, seeds the demo catalog, and runs
 * the built API, autoscaler and workers, which serve a checkout end to end.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { builtinModules } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  SETTING_NAMES,
  ENTRIES,
  createRedis,
  freePort,
  freePortRun,
  keyspace,
  spawnChild,
  waitFor,
  type Child,
} from "@oms/shared";
import { DEMO_CATALOG } from "@oms/migrations";
import { MYSQL_URL, REDIS_URL, createStandaloneTestEnv, type TestEnv } from "./support/env";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const DIST = join(ROOT, "dist");
const LUA = join(ROOT, "packages/inventory/src/lua");
const BUNDLES = Object.keys(ENTRIES).map((name) => `${name}.js`);

let env: TestEnv<Redis>;
const database = `oms_build_${randomBytes(5).toString("hex")}`;
const prefix = `build${randomBytes(4).toString("hex")}`;
let demo: Child | undefined;

beforeAll(async () => {
  env = await createStandaloneTestEnv();
  const build = spawnSync("npm", ["run", "build"], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
  expect(build.status, `npm run build failed:\n${build.stdout}\n${build.stderr}`).toBe(0);
}, 180_000);

afterAll(async () => {
  demo?.signal("SIGKILL");
  if (!env) return;
  await env.db.raw(`DROP DATABASE IF EXISTS \`${database}\``);
  const stream = env.redis.scanStream({ match: `{${prefix}}*`, count: 1000 });
  for await (const batch of stream as AsyncIterable<string[]>) if (batch.length) await env.redis.unlink(...batch);
  await env.close();
});

/** The packages a bundle imports at run time (node: built-ins aside). */
function bareImports(source: string): Set<string> {
  const specifiers = [
    ...source.matchAll(/(?:^import|^export)[^"']*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/gm),
  ]
    .map((m) => m[1] ?? m[2] ?? "")
    .filter((s) => !s.startsWith(".") && !s.startsWith("node:") && !builtinModules.includes(s));
  return new Set(
    specifiers.map((s) =>
      s
        .split("/")
        .slice(0, s.startsWith("@") ? 2 : 1)
        .join("/"),
    ),
  );
}

/** What `npm ci --omit=dev` installs: the `dependencies` of the workspace packages. */
function productionDependencies(): Set<string> {
  const manifests = ["apps/api", "apps/workers", "packages/shared", "packages/inventory", "migrations", "."];
  return new Set(
    manifests.flatMap((dir) => {
      const pkg = JSON.parse(readFileSync(join(ROOT, dir, "package.json"), "utf8")) as {
        dependencies?: Record<string, string>;
      };
      return Object.keys(pkg.dependencies ?? {});
    }),
  );
}

describe("npm run build", () => {
  it("bundles every entry point into dist/, with the Lua scripts beside them, and git ignores dist/", () => {
    for (const bundle of BUNDLES) expect(existsSync(join(DIST, bundle)), bundle).toBe(true);
    for (const file of readdirSync(LUA)) {
      expect(readFileSync(join(DIST, "lua", file), "utf8"), file).toBe(readFileSync(join(LUA, file), "utf8"));
    }
    const ignored = spawnSync("git", ["check-ignore", "-q", "dist/api.js"], { cwd: ROOT });
    expect(ignored.status, "dist/ must be git-ignored").toBe(0);
  });

  it("bundles the @oms packages in and imports nothing a production install lacks", () => {
    const production = productionDependencies();
    for (const bundle of BUNDLES) {
      const imports = bareImports(readFileSync(join(DIST, bundle), "utf8"));
      expect(imports.size, bundle).toBeGreaterThan(0);
      expect(
        [...imports].filter((p) => p.startsWith("@oms/")),
        bundle,
      ).toEqual([]);
      expect(
        [...imports].filter((p) => !production.has(p)),
        `${bundle} imports dev-only packages`,
      ).toEqual([]);
    }
  });
});

describe("the built `npm start` (node dist/start.js)", () => {
  it("migrates and seeds a new database, runs the built API, autoscaler and workers, checks out, and stops on SIGINT", async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const adminToken = randomBytes(12).toString("hex");
    const base: NodeJS.ProcessEnv = { ...process.env };
    for (const key of SETTING_NAMES) delete base[key];
    const metricsPort = await freePortRun(4);
    let output = "";
    demo = spawnChild({
      name: "dist/start.js",
      command: { file: process.execPath, args: ["dist/start.js"], cwd: ROOT },
      env: {
        ...base,
        HOST: "127.0.0.1",
        PORT: String(port),
        REDIS_URL,
        REDIS_PREFIX: prefix,
        DATABASE_URL: `${MYSQL_URL}/${database}`,
        ADMIN_TOKEN: adminToken,
        AUTOSCALE_METRICS_PORT: String(metricsPort),
        AUTOSCALE_WORKERS: "cart=1:1,checkout=1:1,inventory=1:1",
        PAYMENT_SIM_LATENCY_MS: "0",
        LOG_LEVEL: "info",
      },
      output: { onLine: (line) => (output += `${line}\n`) },
    });
    const exited = demo.exited.then((exit) => exit.code);

    // Ready: the API answers and a worker of each queue beats.
    const redis = createRedis(REDIS_URL, { name: "build-test" });
    try {
      const deadline = Date.now() + 120_000;
      for (;;) {
        if (!demo.isAlive()) throw new Error(`dist/start.js exited:\n${output}`);
        if (Date.now() > deadline) throw new Error(`the demo did not get ready:\n${output}`);
        const healthy = await fetch(`${url}/healthz`).then(
          (r) => r.ok,
          () => false,
        );
        if (healthy && (await redis.zcard(keyspace(prefix).workerHeartbeats)) >= 3) break;
        await new Promise((r) => setTimeout(r, 500));
      }
    } finally {
      redis.disconnect();
    }

    // Every process the demo runs is a built file: the API, the autoscaler and its workers.
    const records = output
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as { msg?: string; level?: number; queue?: string; pid?: number });
    const problems = records
      .filter((r) => (r.level ?? 0) >= 40)
      .map((r) => JSON.stringify(r))
      .join("\n");
    const commandLine = (pid: number | undefined): string[] | "exited" => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      } catch {
        return "exited";
      }
    };
    const api = records.find((r) => r.msg?.startsWith("API listening"))?.pid;
    const autoscaler = records.find((r) => r.msg === "autoscaler started")?.pid;
    expect(commandLine(api), "dist/api.js").toContain("dist/api.js");
    expect(commandLine(autoscaler), "dist/autoscaler.js").toContain("dist/autoscaler.js");
    // A "worker process started" record names the autoscaler's pid, then the worker's (the
    // last one wins). A worker the autoscaler replaced (one killed as hung on a loaded
    // machine) has exited: its queue's latest worker is the one to look at.
    for (const queue of ["cart", "checkout", "inventory"]) {
      const latest = records.filter((r) => r.msg === "worker process started" && r.queue === queue).at(-1)?.pid;
      expect(latest, `a ${queue} worker's pid in the logs`).toBeTypeOf("number");
      expect(commandLine(latest), `the ${queue} worker; warnings and errors:\n${problems}`).toContain(
        "dist/workers.js",
      );
    }

    const catalog = (await (await fetch(`${url}/products`)).json()) as { products: Array<{ productID: string }> };
    expect(catalog.products.map((p) => p.productID).sort()).toEqual(DEMO_CATALOG.map((p) => p.product_id).sort());
    const board = await fetch(`${url}/admin/queues`, {
      headers: { authorization: `Basic ${Buffer.from(`admin:${adminToken}`).toString("base64")}` },
    });
    expect(board.status).toBe(200);

    // A checkout through the built workers and the Lua scripts in dist/lua.
    const clientID = `build-${prefix}`;
    const productID = DEMO_CATALOG[0]!.product_id;
    const post = (path: string, body: unknown) =>
      fetch(`${url}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }));
    expect(await post("/addToCart", { clientID, productID, quantity: 1 })).toMatchObject({ status: 200 });
    expect(await post("/checkOutCart", { clientID })).toMatchObject({
      status: 200,
      body: { status: "Success", state: "completed" },
    });

    // Each worker serves its own metrics (planned on the ports after the autoscaler's; a
    // worker whose port another process holds serves on a free one), listed at /targets.
    const groups = await waitFor(
      "a ready worker per queue at /targets",
      async () =>
        (await (await fetch(`http://127.0.0.1:${metricsPort}/targets`)).json()) as Array<{ targets: string[] }>,
      (list) => list.flatMap((group) => group.targets).length === 3,
      30_000,
    );
    const workerPorts = groups.flatMap((group) => group.targets).map((t) => Number(t.split(":").pop()));
    expect(new Set(workerPorts).size).toBe(3);
    expect(workerPorts).not.toContain(metricsPort);
    for (const workerPort of workerPorts) {
      // It starts listening a moment after its first heartbeat.
      const text = await waitFor(
        `worker metrics on ${workerPort}`,
        () =>
          fetch(`http://127.0.0.1:${workerPort}/metrics`).then(
            (r) => (r.ok ? r.text() : ""),
            () => "",
          ),
        (body) => body.length > 0,
        10_000,
      );
      expect(text).toContain('component="worker"');
    }

    demo.signal("SIGINT");
    const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r("timeout"), 60_000))]);
    expect(code, output).toBe(0);
    expect(output).toContain("[start] database ready (applied 001_initial");
    expect(output).toContain("demo products loaded");
  }, 240_000);
});
