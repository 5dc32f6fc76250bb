import { createLogger, loadConfig, runEntryPoint } from "@oms/shared";
import { assertSchemaCurrent } from "@oms/migrations";
import { createWorkerDeps } from "./deps";
import { startWorkers } from "./runner";

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL, "workers");
  await assertSchemaCurrent(config.DATABASE_URL);
  const deps = createWorkerDeps(config, logger);
  const running = await startWorkers(deps);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "draining workers");
    await running.close();
    await deps.close();
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}

runEntryPoint("workers", main);
