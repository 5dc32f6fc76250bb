#!/usr/bin/env node
// Makes sure the system tools some tests drive are installed before `npm test` runs:
// chromium (the browser test of the docs page), promtool (the Prometheus exposition
// check) and docker-compose (`docker-compose config -q` of docker-compose.yml).
// Missing ones are installed with Debian's apt-get when this runs as root; otherwise it
// says what to install and stops, so a new machine's `npm test` needs nothing by hand.
// Idempotent: when everything is present it does nothing.
import { execFileSync, spawnSync } from "node:child_process";

const TOOLS = { chromium: "chromium", promtool: "prometheus", "docker-compose": "docker-compose" };

const has = (command) => spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;
const missing = Object.entries(TOOLS).filter(([command]) => !has(command));
if (missing.length === 0) process.exit(0);

const packages = missing.map(([, pkg]) => pkg);
const commands = missing.map(([command]) => command).join(", ");
const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
if (!isRoot || !has("apt-get")) {
  console.error(
    `npm test needs ${commands}. Install them (Debian/Ubuntu: sudo apt-get install -y ${packages.join(" ")}) and run npm test again.`,
  );
  process.exit(1);
}
console.error(`npm test: installing ${packages.join(", ")} (for ${commands}) with apt-get`);
try {
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  execFileSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
  execFileSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...packages], { stdio: "inherit", env });
} catch {
  console.error(`npm test: could not install ${packages.join(" ")}; install them by hand and run npm test again.`);
  process.exit(1);
}
