import { createLogger, loadWorkerConfig, onStopRequest, startTracing, stopTracing } from "@oms/shared";
import { assertSchemaCurrent } from "@oms/migrations";
import { createWorkerDeps, type WorkerWiring } from "./deps";
import { startWorkers, type RunningWorkers } from "./runner";
import { announceReady, beatToSupervisor } from "./supervised";

/** Time a stopping worker gives its connections to close after the drain's grace time. */
const CLOSE_CONNECTIONS_MS = 3_000;

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
  const stop = async (signal: string) => {
    logger.info({ signal }, "draining workers");
    // Closing a connection waits for Redis or MySQL to answer, which they may never do
    // (down, mid-failover): past the drain's grace time and a little more, exit anyway.
    // Jobs still active come back to another worker once their locks lapse.
    setTimeout(() => {
      logger.warn({ signal }, "connections did not close in time: exiting without them");
      process.exit(0);
    }, config.SHUTDOWN_GRACE_MS + CLOSE_CONNECTIONS_MS).unref();
    await running?.close();
    await deps.close();
    await stopTracing();
    process.exit(0);
  };
  onStopRequest((signal) => void stop(signal));
  running = await startWorkers(deps);
  announceReady({ metricsPort: running.metricsPort });
  // Beats only once consuming: the supervisor judges a worker's liveness from here on.
  beatToSupervisor(running.workers.map((w) => w.id));
}
