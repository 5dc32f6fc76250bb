/**
 * `npm start` (built: dist/start.js): the whole system in one command, the local demo.
 * Creates the database and runs the migration step once, loads the demo catalog into
 * an empty catalog (SEED_ON_START), then runs the API (with the Bull Board dashboard)
 * and the worker autoscaler, which runs worker processes per queue within
 * AUTOSCALE_WORKERS' limits as the backlog asks; built files when this runs from dist/,
 * the sources through tsx otherwise. Either one is restarted if it crashes; Ctrl-C
 * stops both, and every worker drains first.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createDb, entryCommand, loadDemoConfig, runEntryPoint, type EntryName } from "@oms/shared";
import { parseWorkerLimits } from "../apps/workers/src/autoscale/decision";
import { prepareDatabase, seedDemoCatalogIfEmpty } from "@oms/migrations";

interface Supervised {
  name: string;
  entry: EntryName;
  child?: ChildProcess;
  restarts: number;
}

let stopping = false;

function run(proc: Supervised, env: NodeJS.ProcessEnv): void {
  const command = entryCommand(proc.entry);
  const child = spawn(command.file, command.args, {
    cwd: command.cwd,
    env,
    // The IPC channel closes if this process dies, even by SIGKILL: the child then stops.
    stdio: ["inherit", "inherit", "inherit", "ipc"],
  });
  proc.child = child;
  child.on("exit", (code, signal) => {
    if (stopping) return;
    proc.restarts++;
    const delay = Math.min(500 * 2 ** Math.min(proc.restarts, 5), 15_000);
    console.error(`[start] ${proc.name} exited (${signal ?? code}); restarting in ${delay} ms`);
    setTimeout(() => run(proc, env), delay).unref();
  });
}

async function main(): Promise<void> {
  const config = loadDemoConfig();
  const applied = await prepareDatabase(config.DATABASE_URL);
  console.log(`[start] database ready${applied.length ? ` (applied ${applied.join(", ")})` : ""}`);
  if (config.SEED_ON_START) {
    const db = createDb(config.DATABASE_URL, 1);
    try {
      if (await seedDemoCatalogIfEmpty(db))
        console.log("[start] empty catalog: demo products loaded (npm run seed reloads them)");
    } finally {
      await db.destroy();
    }
  }

  const processes: Supervised[] = [
    { name: "api", entry: "api", restarts: 0 },
    { name: "autoscaler", entry: "autoscaler", restarts: 0 },
  ];
  // The dashboard is part of the system: without an ADMIN_TOKEN of the operator's own,
  // this run gets a random one, printed below (the API keeps it off when none is set).
  const adminToken = config.ADMIN_TOKEN ?? randomBytes(12).toString("base64url");
  const env = { ...process.env, ADMIN_TOKEN: adminToken };
  for (const proc of processes) run(proc, env);
  const host = config.HOST === "0.0.0.0" ? "localhost" : config.HOST;
  console.log(
    [
      `[start] API        http://${host}:${config.PORT}  (POST /addToCart, POST /checkOutCart, GET /products)`,
      `[start] workers    autoscaled per queue: ${[...parseWorkerLimits(config.AUTOSCALE_WORKERS)]
        .map(([queue, { min, max }]) => `${queue} ${min}..${max}`)
        .join(", ")} processes (${config.AUTOSCALE_TARGET_BACKLOG} jobs of backlog each)`,
      `[start] dashboard  http://${host}:${config.PORT}${config.BULL_BOARD_PATH}  (user admin, password ${
        config.ADMIN_TOKEN ? "$ADMIN_TOKEN" : `${adminToken}: random for this run, set ADMIN_TOKEN to choose it`
      })`,
      ...(config.AUTOSCALE_METRICS_PORT > 0
        ? [`[start] autoscaler http://${host}:${config.AUTOSCALE_METRICS_PORT}/metrics`]
        : []),
      `[start] Redis      ${config.REDIS_URL} (prefix {${config.REDIS_PREFIX}})`,
      `[start] MySQL      ${config.DATABASE_URL.replace(/\/\/[^@]*@/, "//")}`,
      `[start] Ctrl-C stops everything`,
    ].join("\n"),
  );

  const stop = () => {
    if (stopping) return;
    stopping = true;
    console.log("[start] stopping: API and workers drain in-flight work");
    const alive = processes.map((p) => p.child).filter((c): c is ChildProcess => !!c && c.exitCode === null);
    for (const child of alive) child.kill("SIGTERM");
    Promise.all(alive.map((c) => new Promise((r) => c.once("exit", r)))).then(() => process.exit(0));
    // The autoscaler gives each worker SHUTDOWN_GRACE_MS plus 5 s before it kills it.
    setTimeout(() => process.exit(1), config.SHUTDOWN_GRACE_MS + 10_000).unref();
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

runEntryPoint("start", main);
