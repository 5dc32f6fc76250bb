import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ENTRIES } from "@oms/shared";

// Validates docker-compose.yml with the real Compose parser (Debian's docker-compose v1,
// which CI installs in .ci/run). No Docker daemon is needed for `config`.
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BIN = "docker-compose";

function compose(...args: string[]) {
  return spawnSync(BIN, ["-f", "docker-compose.yml", ...args], { cwd: ROOT, encoding: "utf8", timeout: 30_000 });
}

/** Splits the normalised `docker-compose config` text into one block of lines per service. */
function serviceBlocks(text: string): Map<string, string[]> {
  const blocks = new Map<string, string[]>();
  let inServices = false;
  let current: string[] | undefined;
  for (const line of text.split("\n")) {
    if (/^\S/.test(line)) {
      inServices = line.startsWith("services:");
      current = undefined;
      continue;
    }
    if (!inServices) continue;
    const name = /^ {2}([A-Za-z0-9._-]+):\s*$/.exec(line)?.[1];
    if (name !== undefined) {
      current = [];
      blocks.set(name, current);
    } else {
      current?.push(line);
    }
  }
  return blocks;
}

let parsed: Map<string, string[]> | undefined;

/** `docker-compose config`, parsed once; fails every test clearly when the binary is missing. */
function services(): Map<string, string[]> {
  if (parsed) return parsed;
  const probe = spawnSync(BIN, ["version"], { encoding: "utf8" });
  if (probe.error) {
    throw new Error(
      `${BIN} is not installed (${probe.error.message}); install it with \`apt-get install -y docker-compose\` (.ci/run does this)`,
    );
  }
  const out = compose("config");
  if (out.status !== 0) throw new Error(`docker-compose config failed:\n${out.stderr}`);
  parsed = serviceBlocks(out.stdout);
  return parsed;
}

function service(name: string): string {
  const block = services().get(name);
  if (!block) throw new Error(`docker-compose.yml has no service "${name}"`);
  return block.join("\n");
}

/** A service's command, from the normalised `command:` list. */
function command(name: string): string[] {
  const match = /^ {4}command:\n((?: {4}- .*\n?)+)/m.exec(service(name));
  if (!match) throw new Error(`service "${name}" has no command list`);
  return match[1]!
    .trimEnd()
    .split("\n")
    .map((line) => line.replace(/^ {4}- /, "").replace(/^"(.*)"$/, "$1"));
}

const APP_SERVICES = ["migrate", "api", "workers"];

/** The bundles `npm run build` writes (packages/shared/src/entries.ts). */
const BUILT = new Set(Object.keys(ENTRIES).map((name) => `dist/${name}.js`));

describe("docker-compose.yml", () => {
  it("passes `docker-compose config -q`", () => {
    services();
    const out = compose("config", "-q");
    expect(out.status, `docker-compose config -q failed:\n${out.stderr}`).toBe(0);
  });

  it("has the mysql, redis, migrate, api and workers services", () => {
    expect([...services().keys()].sort()).toEqual(["api", "migrate", "mysql", "redis", "workers"]);
  });

  it("runs built JavaScript with node, under an init process, in every app service", () => {
    for (const name of APP_SERVICES) {
      const [node, ...args] = command(name);
      expect(node, name).toBe("node");
      const files = args.filter((a) => !a.startsWith("-"));
      expect(files.length, name).toBe(1);
      expect(BUILT.has(files[0]!), `${name} runs ${files[0]}, which npm run build does not write`).toBe(true);
      expect(service(name), name).not.toMatch(/tsx|\.ts\b/);
      expect(service(name), name).toMatch(/^ {4}init: true$/m);
    }
  });

  it("migrates once, as its own step, before the API and the workers start", () => {
    expect(command("migrate")).toContain("dist/migrate.js");
    expect(service("migrate")).toMatch(/^ {4}restart: "?no"?$/m);
    expect(service("migrate")).toMatch(/^ {6}mysql:\n {8}condition: service_healthy$/m);
    for (const name of ["api", "workers"]) {
      expect(service(name), name).toMatch(/^ {6}migrate:\n {8}condition: service_completed_successfully$/m);
    }
    // Nothing seeds the demo catalog in the stack.
    for (const name of APP_SERVICES) expect(service(name), name).not.toMatch(/SEED_ON_START: "?true"?|seed\.js/);
  });

  it("runs Redis with appendonly and noeviction", () => {
    const redis = service("redis");
    expect(redis).toMatch(/--appendonly\s*\n\s*- "?yes"?/);
    expect(redis).toMatch(/--maxmemory-policy\s*\n\s*- "?noeviction"?/);
    expect(redis).toMatch(/^ {4}volumes:/m);
  });

  it("lets workers scale: no host ports, no container_name, two replicas", () => {
    const workers = service("workers");
    expect(workers).not.toMatch(/^ {4}ports:/m);
    expect(workers).not.toMatch(/^ {4}container_name:/m);
    expect(workers).toMatch(/^ {4}deploy:\n {6}replicas: 2$/m);
    expect(command("workers")).toContain("dist/workers.js");
  });

  it("starts the API after healthy MySQL and Redis, on port 5003", () => {
    const api = service("api");
    expect(api).toMatch(/^ {6}mysql:\n {8}condition: service_healthy$/m);
    expect(api).toMatch(/^ {6}redis:\n {8}condition: service_healthy$/m);
    expect(api).toMatch(/published: 5003|5003:5003/);
    expect(api).toMatch(/REDIS_URL: redis:\/\/redis:6379/);
    expect(api).toMatch(/DATABASE_URL: mysql:\/\/root@mysql:3306\/orders/);
    expect(api).toMatch(/\/healthz/);
    expect(command("api")).toContain("dist/api.js");
  });
});

describe("Dockerfile", () => {
  const text = readFileSync(new URL("../Dockerfile", import.meta.url), "utf8");
  const stages = text.split(/^(?=FROM )/m).filter((s) => s.startsWith("FROM "));
  const [manifests = "", build = "", final = ""] = stages;

  it("builds in a stage of its own: every dependency on the manifests, then npm run build", () => {
    expect(stages.length).toBe(3);
    expect(manifests).toMatch(/^FROM \S+ AS manifests$/m);
    for (const copy of manifests.match(/^COPY .*$/gm) ?? []) expect(copy).toMatch(/package(-lock)?\.json/);
    expect(build).toMatch(/^FROM manifests AS build$/m);
    expect(build).toMatch(/^RUN npm ci\b(?!.*--omit)/m);
    expect(build).toMatch(/^RUN npm run build$/m);
  });

  it("ships production dependencies and dist/ only", () => {
    expect(final).toMatch(/^RUN npm ci --omit=dev\b/m);
    expect(final).not.toMatch(/^RUN npm ci(?! --omit=dev)/m);
    // No sources: the manifests stage's package files, and dist/.
    expect(final.match(/^COPY .*$/gm)).toEqual(["COPY --from=manifests /app ./", "COPY --from=build /app/dist ./dist"]);
  });

  it("runs node on the built API as a non-root user, under tini as PID 1", () => {
    expect(final).toMatch(/^USER node$/m);
    expect(final).not.toMatch(/^USER (root|0)\b/m);
    expect(final).toMatch(/apt-get install -y --no-install-recommends tini/);
    expect(final).toMatch(/^ENTRYPOINT \["\/usr\/bin\/tini", "-s", "--"\]$/m);
    expect(final).toMatch(/^CMD \["node", "--enable-source-maps", "dist\/api\.js"\]$/m);
    expect(final).not.toMatch(/tsx/);
  });

  it("never seeds demo data by default", () => {
    expect(final).toMatch(/^ENV .*\bSEED_ON_START=false\b/m);
  });
});
