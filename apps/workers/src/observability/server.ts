import { createServer, type Server } from "node:http";
import type { Registry } from "prom-client";
import type { ProgressMonitor } from "./progress";

/** A worker process's own /metrics, /healthz and /readyz, for Prometheus and Kubernetes probes. */
export function startObservabilityServer(
  port: number,
  host: string,
  registry: Registry,
  progress: ProgressMonitor,
): Promise<Server> {
  const server = createServer((req, res) => {
    const reply = (status: number, body: string, type = "application/json") => {
      res.writeHead(status, { "content-type": type });
      res.end(body);
    };
    switch (req.url) {
      case "/metrics":
        registry.metrics().then(
          (text) => reply(200, text, registry.contentType),
          () => reply(500, JSON.stringify({ status: "error" })),
        );
        return;
      case "/healthz":
        return reply(200, JSON.stringify({ status: "ok" }));
      case "/readyz":
        progress.check().then(
          (r) =>
            reply(
              r.ready ? 200 : 503,
              JSON.stringify({ status: r.ready ? "ready" : "not ready", problems: r.problems }),
            ),
          () => reply(503, JSON.stringify({ status: "not ready" })),
        );
        return;
      default:
        return reply(404, JSON.stringify({ status: "Failed", error: "not found" }));
    }
  });
  return new Promise((resolve) => server.listen(port, host, () => resolve(server)));
}
