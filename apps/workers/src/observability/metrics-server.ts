/**
 * The one metrics endpoint of a worker process and of the autoscaler: /metrics for
 * Prometheus, /healthz (alive) and /readyz (the process's own readiness) for probes,
 * plus any routes the process adds (the autoscaler's /targets).
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";

export interface Readiness {
  ready: boolean;
  /** Why it is not ready, for whoever reads the probe's body. */
  problems?: string[];
}

/** An extra GET route: its JSON body (status 200). */
export type JsonRoute = (req: IncomingMessage) => unknown;

export interface MetricsServerOptions {
  registry: Registry;
  /** 0: any free port (tests). */
  port: number;
  /** The interface to listen on: the process's HOST, never a wider default. */
  host: string;
  readiness(): Readiness | Promise<Readiness>;
  routes?: Record<string, JsonRoute>;
}

export interface MetricsServer {
  server: Server;
  port: number;
  close(): Promise<void>;
}

export async function serveMetrics(options: MetricsServerOptions): Promise<MetricsServer> {
  const { registry } = options;
  const server = createServer((req, res) => {
    const reply = (status: number, body: string, type = "application/json") => {
      res.writeHead(status, { "content-type": type });
      res.end(body);
    };
    const json = (status: number, body: unknown) => reply(status, JSON.stringify(body));
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    if (req.method !== "GET" && req.method !== "HEAD") return json(405, { status: "method not allowed" });
    const route = options.routes?.[path];
    if (route) return json(200, route(req));
    switch (path) {
      case "/metrics":
        registry.metrics().then(
          (text) => reply(200, text, registry.contentType),
          (err: unknown) => json(500, { status: "error", error: String(err) }),
        );
        return;
      case "/healthz":
        return json(200, { status: "ok" });
      case "/readyz":
        Promise.resolve(options.readiness()).then(
          ({ ready, problems }) => json(ready ? 200 : 503, { status: ready ? "ready" : "not ready", problems }),
          (err: unknown) => json(503, { status: "not ready", problems: [String(err)] }),
        );
        return;
      default:
        return json(404, { status: "not found", error: `no route ${path}` });
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
