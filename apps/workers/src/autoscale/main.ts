/**
 * `npm run workers:autoscale`: the one-machine autoscaler. Runs worker processes per
 * queue between AUTOSCALE_WORKERS' limits, serves its metrics on AUTOSCALE_METRICS_PORT,
 * and on SIGTERM or SIGINT retires every worker (each drains) before it exits.
 * With AUTOSCALE_OBSERVE_ONLY=true it runs no workers and only exports the queue
 * measurements (how KEDA gets them on Kubernetes).
 */
import {
  announceReady,
  createLogger,
  keyspace,
  loadAutoscalerConfig,
  onStopRequest,
  redisTarget,
  runEntryPoint,
} from "@oms/shared";
import { assertSchemaCurrent } from "@oms/migrations";
import { parseWorkerLimits } from "./decision";
import { serveMetrics, type MetricsServer } from "../observability/metrics-server";
import { createAutoscaleMetrics } from "./metrics";
import { prometheusTargets } from "./targets";
import { Supervisor } from "./supervisor";

/** Time a retiring worker gets beyond its own grace time to finish and exit. */
const RETIRE_MARGIN_MS = 5_000;

async function main(): Promise<void> {
  const config = loadAutoscalerConfig();
  const logger = createLogger(config.LOG_LEVEL, "autoscaler");
  const observeOnly = config.AUTOSCALE_OBSERVE_ONLY;
  // Its workers would each refuse a stale schema: say so once, before spawning any.
  if (!observeOnly) await assertSchemaCurrent(config.DATABASE_URL);

  const limits = parseWorkerLimits(config.AUTOSCALE_WORKERS);
  const metrics = createAutoscaleMetrics();
  const supervisor = new Supervisor({
    redisTarget: redisTarget(config),
    queuePrefix: keyspace(config.REDIS_PREFIX).queuePrefix,
    limits,
    policy: {
      targetBacklog: config.AUTOSCALE_TARGET_BACKLOG,
      maxWaitMs: config.AUTOSCALE_MAX_WAIT_MS,
      cooldownMs: config.AUTOSCALE_COOLDOWN_MS,
    },
    pollIntervalMs: config.AUTOSCALE_POLL_INTERVAL_MS,
    retireTimeoutMs: config.SHUTDOWN_GRACE_MS + RETIRE_MARGIN_MS,
    logger,
    metrics,
    spawnWorkers: !observeOnly,
    // Its workers' metrics are found through its own endpoint (/targets): none without it.
    workerMetrics: config.AUTOSCALE_METRICS_PORT > 0 ? { firstPort: config.AUTOSCALE_METRICS_PORT + 1 } : undefined,
    hungAfterMs: config.AUTOSCALE_HUNG_WORKER_MS,
    // As the workers do it: a frozen worker may be the only one that would.
    stalledCheck: { intervalMs: config.STALLED_CHECK_MS, maxStalled: config.MAX_STALLED },
  });

  let server: MetricsServer | undefined;
  if (config.AUTOSCALE_METRICS_PORT > 0) {
    server = await serveMetrics({
      registry: metrics.registry,
      port: config.AUTOSCALE_METRICS_PORT,
      host: config.HOST,
      readiness: () => ({ ready: supervisor.isHealthy() }),
      routes: { "/targets": (req) => prometheusTargets(supervisor.status(), req, config.HOST) },
    });
  }
  supervisor.start();
  logger.info(
    {
      queues: Object.fromEntries([...limits].map(([queue, l]) => [queue, `${l.min}..${l.max}`])),
      targetBacklog: config.AUTOSCALE_TARGET_BACKLOG,
      maxWaitMs: config.AUTOSCALE_MAX_WAIT_MS,
      cooldownMs: config.AUTOSCALE_COOLDOWN_MS,
      pollIntervalMs: config.AUTOSCALE_POLL_INTERVAL_MS,
      hungWorkerMs: config.AUTOSCALE_HUNG_WORKER_MS || "off",
      metrics: server ? `http://localhost:${server.port}/metrics` : "off",
      observeOnly,
    },
    "autoscaler started",
  );
  announceReady();

  process.on("exit", () => supervisor.signalAll("SIGTERM"));
  onStopRequest((signal) => {
    logger.info({ signal }, "autoscaler stopping: workers drain their active jobs");
    void supervisor
      .stop()
      .then(() => server?.close())
      .then(() => {
        logger.info("autoscaler stopped");
        process.exit(0);
      });
  });
}

runEntryPoint("autoscaler", main);
