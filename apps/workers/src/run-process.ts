import { createLogger, loadWorkerConfig, onSupervisorGone, startTracing, stopTracing } from "@oms/shared";
import { assertSchemaCurrent } from "@oms/migrations";
import { createWorkerDeps, type WorkerWiring } from "./deps";
import { startWorkers, type RunningWorkers } from "./runner";
import { announceReady, beatToSupervisor } from "./supervised";

/**
 * A worker process from start to exit, wired as its entry point says: production's
 * (apps/workers/src/main.ts) takes the defaults; the benchmark's and the chaos suite's
 * entry points bring their own reservation or checkpoint hook.
 */
export async function runWorkerProcess(wiring: WorkerWiring = {}): Promise<void> {
  const config = loadWorkerConfig();
  const logger = createLogger(config.LOG_LEVEL, "workers");
  startTracing("oms-workers", config.OTEL_EXPORTER_OTLP_ENDPOINT);
  await assertSchemaCurrent(config.DATABASE_URL);
  const deps = createWorkerDeps(config, logger, wiring);
  // Set once consuming; a stop before then has nothing to drain.
  let running: RunningWorkers | undefined = undefined;
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "draining workers");
    await running?.close();
    await deps.close();
    await stopTracing();
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
  onSupervisorGone(() => void stop("supervisor gone"));
  running = await startWorkers(deps);
  announceReady();
  // Beats only once consuming: the supervisor judges a worker's liveness from here on.
  beatToSupervisor(running.workers.map((w) => w.id));
}
