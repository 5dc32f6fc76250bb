import { randomUUID } from "node:crypto";
import express, { type NextFunction, type Request, type Response } from "express";
import helmet from "helmet";
import { startServerSpan, errorMessage } from "@oms/shared";
import type { ApiDeps } from "./deps";
import { failure } from "./http/result";
import { bodyParserFailure, requestFailure } from "./http/request-errors";
import { requireAdminBearer } from "./http/auth";
import { RouteLabels } from "./http/route-labels";
import { ADMIN_PATH, mountRoutes, send } from "./http/mount";
import { documentationRouter } from "./http/documentation";
import { createBoardRouter } from "./admin/board";
import { routeTable } from "./routes";
import { buildOpenApi } from "./openapi";

/**
 * Builds the Express app without listening, so tests drive it in-process: the middleware
 * every request passes, the route table (http/mount.ts), the UIs, and the fallbacks.
 */
export function createApp(deps: ApiDeps): express.Express {
  const { config } = deps;
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  app.set("query parser", "simple");
  app.set("trust proxy", "loopback");
  const labels = new RouteLabels();

  // First: the request's span is active for everything after, down to the job it adds.
  app.use((req, res, next) => {
    const span = startServerSpan(req.method, req.headers, next);
    if (span) res.on("finish", () => span.end(labels.label(req.originalUrl), res.statusCode));
  });
  app.use((req, res, next) => {
    const incoming = req.get("x-request-id");
    const requestId = incoming && /^[\w.-]{1,100}$/.test(incoming) ? incoming : randomUUID();
    res.locals.requestId = requestId;
    res.setHeader("X-Request-Id", requestId);
    const start = performance.now();
    res.on("finish", () => {
      const route = labels.label(req.originalUrl);
      deps.metrics.httpDuration.observe(
        { method: req.method, route, status: String(res.statusCode) },
        (performance.now() - start) / 1000,
      );
      // The one place a 5xx is logged, whoever answered it (a handler, the error
      // handler, body-parser, Bull Board): a 500 is a bug, a 503/504 a dependency.
      if (res.statusCode >= 500) {
        const cause: unknown = res.locals.cause;
        (res.statusCode === 500 ? deps.logger.error : deps.logger.warn).call(
          deps.logger,
          {
            requestId,
            method: req.method,
            route,
            status: res.statusCode,
            ...(cause === undefined ? {} : { err: errorMessage(cause) }),
          },
          "request answered with a server error",
        );
      }
    });
    next();
  });
  // Bull Board renders inline scripts; every other route gets helmet's CSP too.
  app.use(helmet({ contentSecurityPolicy: false }));
  app.use(express.json({ limit: config.MAX_BODY_BYTES, strict: true }));

  const adminEnabled = Boolean(config.ADMIN_TOKEN);
  const document = buildOpenApi({ adminEnabled });
  const admin = config.ADMIN_TOKEN ? express.Router().use(requireAdminBearer(config.ADMIN_TOKEN)) : undefined;
  mountRoutes(deps, routeTable({ adminEnabled, document: () => document }), { app, admin, labels });

  labels.mount("/documentation");
  app.use("/documentation", documentationRouter(config.PUBLIC_BASE_PATH));
  if (admin) {
    // The board is mounted first: it has its own (Basic) authentication.
    labels.mount(config.BULL_BOARD_PATH);
    app.use(
      config.BULL_BOARD_PATH,
      createBoardRouter(Object.values(deps.queues), {
        path: config.BULL_BOARD_PATH,
        publicBasePath: config.PUBLIC_BASE_PATH,
        adminToken: config.ADMIN_TOKEN,
        viewerToken: config.VIEWER_TOKEN,
      }),
    );
    app.use(ADMIN_PATH, admin);
  } else {
    app.use([ADMIN_PATH, config.BULL_BOARD_PATH], (_req, res) =>
      send(res, failure("NOT_FOUND", "the admin surface is disabled: set ADMIN_TOKEN to enable it")),
    );
  }

  app.use((req, res) => send(res, failure("NOT_FOUND", `no route ${req.method} ${req.path}`)));
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const known = bodyParserFailure(err) ?? requestFailure(err);
    send(res, known ?? { ...failure("INTERNAL", "internal error"), cause: err });
  });
  return app;
}
