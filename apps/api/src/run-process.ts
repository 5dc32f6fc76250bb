import {
  announceReady,
  createLogger,
  describeTarget,
  loadApiConfig,
  onStopRequest,
  redisTarget,
  startTracing,
  stopTracing,
} from "@oms/shared";
import { assertSchemaCurrent } from "@oms/migrations";
import { createApiDeps, type ApiWiring } from "./deps";
import { createApp } from "./app";
import { createApiServer } from "./http/server";

/**
 * An API process from start to exit, wired as its entry point says: production's
 * (apps/api/src/main.ts) takes the defaults, the benchmark's brings its own.
 */
export async function runApiProcess(wiring: ApiWiring = {}): Promise<void> {
  const config = loadApiConfig();
  const logger = createLogger(config.LOG_LEVEL, "api");
  // Before any queue exists: a queue picks up BullMQ's telemetry when it is created.
  startTracing("oms-api", config.OTEL_EXPORTER_OTLP_ENDPOINT);
  // Migrating is a release step of its own (npm run migrate); this process only refuses a stale schema.
  await assertSchemaCurrent(config.DATABASE_URL);
  const deps = await createApiDeps(config, logger, wiring);
  if (!config.ADMIN_TOKEN) logger.warn("ADMIN_TOKEN is not set: the admin API and Bull Board are disabled");
  if (!config.JWT_SECRET) logger.info("JWT_SECRET is not set: clients are not authenticated");
  const server = createApiServer(createApp(deps), config).listen(config.PORT, config.HOST, () => {
    const address = server.address();
    const port = typeof address === "object" && address ? address.port : config.PORT;
    const redis = describeTarget(redisTarget(config));
    logger.info(
      { port, redis },
      `API listening on http://${config.HOST === "0.0.0.0" ? "localhost" : config.HOST}:${port}`,
    );
    announceReady();
  });
  onStopRequest((signal) => {
    logger.info({ signal }, "stopping API: no new requests, finishing those in flight");
    server.close(() => {
      void deps
        .close()
        .then(stopTracing)
        .then(() => process.exit(0));
    });
    server.closeIdleConnections();
    setTimeout(() => process.exit(0), config.SHUTDOWN_GRACE_MS).unref();
  });
}
