import { createServer, type RequestListener, type Server } from "node:http";
import type { ApiConfig } from "@oms/shared";

/**
 * The API's HTTP server with explicit bounds on what one connection may hold: Node's
 * defaults let a slow body keep a connection for minutes (review finding 14). Timeouts
 * are checked every second rather than Node's 30 s, so they hold to about that.
 */
export function createApiServer(app: RequestListener, config: ApiConfig): Server {
  const server = createServer(
    {
      // Node refuses a headers timeout above the request timeout.
      headersTimeout: Math.min(config.HTTP_HEADERS_TIMEOUT_MS, config.HTTP_REQUEST_TIMEOUT_MS),
      requestTimeout: config.HTTP_REQUEST_TIMEOUT_MS,
      keepAliveTimeout: config.HTTP_KEEP_ALIVE_TIMEOUT_MS,
      connectionsCheckingInterval: 1_000,
    },
    app,
  );
  server.maxConnections = config.HTTP_MAX_CONNECTIONS;
  return server;
}
