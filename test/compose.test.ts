import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

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

describe("docker-compose.yml", () => {
  it("passes `docker-compose config -q`", () => {
    services();
    const out = compose("config", "-q");
    expect(out.status, `docker-compose config -q failed:\n${out.stderr}`).toBe(0);
  });

  it("has the mysql, redis, api and workers services", () => {
    expect([...services().keys()].sort()).toEqual(["api", "mysql", "redis", "workers"]);
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
    expect(workers).toMatch(/apps\/workers\/src\/main\.ts/);
  });

  it("starts the API after healthy MySQL and Redis, on port 5003", () => {
    const api = service("api");
    expect(api).toMatch(/^ {6}mysql:\n {8}condition: service_healthy$/m);
    expect(api).toMatch(/^ {6}redis:\n {8}condition: service_healthy$/m);
    expect(api).toMatch(/published: 5003|5003:5003/);
    expect(api).toMatch(/REDIS_URL: redis:\/\/redis:6379/);
    expect(api).toMatch(/DATABASE_URL: mysql:\/\/root@mysql:3306\/orders/);
    expect(api).toMatch(/\/healthz/);
  });
});
