import { randomUUID } from "node:crypto";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import express, { type NextFunction, type Request, type Response } from "express";
import helmet from "helmet";
import { startServerSpan } from "@oms/shared";
import type { ApiDeps } from "./deps";
import { failure, type HttpResult } from "./http/result";
import { bodyParserFailure, requestFailure } from "./http/request-errors";
import { clientAuthenticator, requireAdminBearer } from "./http/auth";
import { createClientAdmission } from "./http/client-admission";
import { RouteLabels } from "./http/route-labels";
import { createClientLimiter } from "./http/rate-limit";
import { addToCart, getCart } from "./handlers/cart";
import { clearCart, removeCartItem, setCartItem } from "./handlers/cart-edit";
import { checkOutCart } from "./handlers/checkout";
import { getProduct, listProducts } from "./handlers/catalog";
import { getOrder, listClientOrders } from "./handlers/orders";
import { cancelOrder, fulfilOrder, refundOrder, shipOrder } from "./handlers/order-lifecycle";
import { healthz, readyz } from "./handlers/health";
import { restockProduct, upsertProduct } from "./admin/products";
import { listHolds, pendingFlushes, reconcileNow, retryFailedJobs } from "./admin/operations";
import { listAdminOrders } from "./admin/orders";
import { createWebhook, deleteWebhook, listDeliveries, listWebhooks } from "./admin/webhooks";
import { withIdempotency } from "./http/idempotency";
import { createBoardRouter } from "./admin/board";
import { buildOpenApi, documentationInit, documentationPage } from "./openapi";

/** Where the admin API's router is mounted. */
const ADMIN_PATH = "/admin";

/** An owner no order has: a request without a valid token sees no order. */
const NOBODY = "\u0000nobody";

type Handler = (req: Request) => HttpResult | Promise<HttpResult>;

const swaggerUiAssets = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));

/** Builds the Express app without listening, so tests drive it in-process. The only file that knows Express. */
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
            ...(cause === undefined ? {} : { err: cause instanceof Error ? cause.message : String(cause) }),
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

  const ctx = (req: Request) => ({ requestId: String(req.res?.locals.requestId ?? "") });
  const route = (handler: Handler) => async (req: Request, res: Response, next: NextFunction) => {
    try {
      send(res, await handler(req));
    } catch (err) {
      next(err);
    }
  };
  const json =
    (handler: Handler): Handler =>
    (req) =>
      req.is("application/json")
        ? handler(req)
        : failure("UNSUPPORTED_MEDIA_TYPE", "Content-Type must be application/json");

  // A body is optional (none: the whole refund), but one that is sent must be JSON: a
  // body the parser skipped would otherwise read as no body at all.
  // (`Content-Length: 0`, which fetch sends for an empty POST, is no body.)
  const optionalJson =
    (handler: Handler): Handler =>
    (req) => {
      const sent = req.get("transfer-encoding") !== undefined || Number(req.get("content-length") ?? 0) > 0;
      return sent && !req.is("application/json")
        ? failure("UNSUPPORTED_MEDIA_TYPE", "Content-Type must be application/json")
        : handler(req);
    };

  // Shop routes: rate-limited per client, and tied to the client's JWT when one is required.
  const limiter = createClientLimiter(deps.redis, deps.keys.rateLimit, config.RATE_LIMIT_PER_MINUTE);
  const authenticate = config.JWT_SECRET
    ? clientAuthenticator(new TextEncoder().encode(config.JWT_SECRET), config.JWT_MAX_AGE_S)
    : undefined;
  const admit = createClientAdmission(limiter, authenticate);
  const forClient =
    (clientOf: (req: Request) => unknown, handler: Handler): Handler =>
    async (req) => {
      const clientID = clientOf(req);
      const admission = await admit({ clientID, authorization: req.get("authorization"), ip: req.ip });
      if (!admission.ok) return admission.result;
      if (admission.subject !== undefined && typeof clientID === "string" && admission.subject !== clientID)
        return failure("FORBIDDEN", "the token does not belong to this clientID");
      return handler(req);
    };
  const fromBody = (req: Request) => (req.body as { clientID?: unknown } | undefined)?.clientID;
  const fromPath = (req: Request) => req.params.clientID;

  app.post(labels.route("/addToCart"), route(json(forClient(fromBody, (req) => addToCart(deps, req.body, ctx(req))))));
  // Idempotency-Key scopes: one per client for checkouts, one for the admin.
  const idempotent =
    (scopeOf: (req: Request) => string, handler: Handler): Handler =>
    (req) =>
      withIdempotency(
        {
          redis: deps.redis,
          keys: deps.keys,
          ttlMs: config.IDEMPOTENCY_TTL_MS,
          scope: scopeOf(req),
          key: req.get("idempotency-key"),
          body: { path: req.originalUrl, body: req.body },
        },
        async () => handler(req),
      );
  app.post(
    labels.route("/checkOutCart"),
    route(
      json(
        forClient(
          fromBody,
          idempotent(
            // Only a string is a client (the handler refuses anything else); String() of a body
            // value can throw ({"toString":1}) or overflow the stack (an array nested 5000 deep).
            (req) => {
              const clientID = fromBody(req);
              return typeof clientID === "string" ? `checkout:${clientID}` : "checkout-invalid";
            },
            (req) =>
              checkOutCart(deps, req.body, ctx(req), {
                respondAsync: /\brespond-async\b/i.test(req.get("prefer") ?? ""),
                idempotencyKey: req.get("idempotency-key"),
              }),
          ),
        ),
      ),
    ),
  );
  app.get(
    labels.route("/cart/:clientID"),
    route(forClient(fromPath, (req) => getCart(deps, String(req.params.clientID)))),
  );
  // Cart edits: owner-only and rate-limited like the rest of the cart.
  const cartLine = labels.route("/cart/:clientID/items/:productID");
  const line = (req: Request) => [String(req.params.clientID), String(req.params.productID)] as const;
  app.put(cartLine, route(json(forClient(fromPath, (req) => setCartItem(deps, ...line(req), req.body, ctx(req))))));
  app.delete(cartLine, route(forClient(fromPath, (req) => removeCartItem(deps, ...line(req), ctx(req)))));
  app.delete(
    labels.route("/cart/:clientID"),
    route(forClient(fromPath, (req) => clearCart(deps, String(req.params.clientID), ctx(req)))),
  );
  app.get(
    labels.route("/clients/:clientID/orders"),
    route(forClient(fromPath, (req) => listClientOrders(deps, String(req.params.clientID), req.query))),
  );
  app.get(
    labels.route("/products"),
    route((req) => listProducts(deps, req.query)),
  );
  app.get(
    labels.route("/products/:productID"),
    route((req) => getProduct(deps, String(req.params.productID))),
  );
  // With JWT on, only the owner sees or cancels an order: a missing or bad token is the
  // same 404 as someone else's order (a 401 would confirm the id exists).
  const asOwner =
    (handler: (orderId: string, owner?: string) => Promise<HttpResult>): Handler =>
    async (req) => {
      const orderId = String(req.params.orderId);
      if (!authenticate) return handler(orderId);
      const admission = await admit({ clientID: undefined, authorization: req.get("authorization"), ip: req.ip });
      if (admission.ok) return handler(orderId, admission.subject ?? NOBODY);
      return admission.result.status === 401 ? handler(orderId, NOBODY) : admission.result;
    };
  app.get(labels.route("/orders/:orderId"), route(asOwner((orderId, owner) => getOrder(deps, orderId, owner))));
  // No body to read: a cancel takes everything not yet refunded.
  app.post(
    labels.route("/orders/:orderId/cancel"),
    route(asOwner((orderId, owner) => cancelOrder(deps, orderId, owner))),
  );

  app.get(
    labels.route("/healthz"),
    route(() => healthz()),
  );
  app.get(
    labels.route("/readyz"),
    route(() => readyz(deps)),
  );
  app.get(labels.route("/metrics"), async (_req, res, next) => {
    try {
      res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
    } catch (err) {
      next(err);
    }
  });

  const adminEnabled = Boolean(config.ADMIN_TOKEN);
  const spec = buildOpenApi({ adminEnabled });
  app.get(labels.route("/openapi.json"), (_req, res) => res.json(spec));
  const docs = express.Router();
  docs.use(helmet.contentSecurityPolicy());
  docs.get("/", (_req, res) => res.type("html").send(documentationPage(config.PUBLIC_BASE_PATH)));
  docs.get("/init.js", (_req, res) => res.type("js").send(documentationInit(config.PUBLIC_BASE_PATH)));
  docs.use("/assets", express.static(swaggerUiAssets, { index: false, maxAge: "1h" }));
  app.use(labels.mount("/documentation"), docs);

  if (config.ADMIN_TOKEN) {
    const admin = express.Router();
    admin.use(requireAdminBearer(config.ADMIN_TOKEN));
    const adminWrite = (handler: Handler) => idempotent(() => "admin", handler);
    admin.post(labels.route("/products", ADMIN_PATH), route(json(adminWrite((req) => upsertProduct(deps, req.body)))));
    admin.post(
      labels.route("/products/:productID/restock", ADMIN_PATH),
      route(json(adminWrite((req) => restockProduct(deps, String(req.params.productID), req.body)))),
    );
    admin.get(
      labels.route("/orders", ADMIN_PATH),
      route((req) => listAdminOrders(deps, req.query)),
    );
    admin.get(
      labels.route("/holds", ADMIN_PATH),
      route(() => listHolds(deps)),
    );
    admin.get(
      labels.route("/flushes", ADMIN_PATH),
      route(() => pendingFlushes(deps)),
    );
    admin.post(
      labels.route("/jobs/:queue/retry-failed", ADMIN_PATH),
      route(adminWrite((req) => retryFailedJobs(deps, String(req.params.queue)))),
    );
    admin.post(labels.route("/reconcile", ADMIN_PATH), route(adminWrite(() => reconcileNow(deps))));
    admin.post(
      labels.route("/orders/:orderId/refund", ADMIN_PATH),
      route(
        optionalJson(
          adminWrite((req) => refundOrder(deps, String(req.params.orderId), req.body, req.get("idempotency-key"))),
        ),
      ),
    );
    admin.post(
      labels.route("/orders/:orderId/fulfil", ADMIN_PATH),
      route(adminWrite((req) => fulfilOrder(deps, String(req.params.orderId)))),
    );
    admin.post(
      labels.route("/orders/:orderId/ship", ADMIN_PATH),
      route(optionalJson(adminWrite((req) => shipOrder(deps, String(req.params.orderId), req.body)))),
    );
    const hook = (req: Request) => String(req.params.id);
    admin.post(labels.route("/webhooks", ADMIN_PATH), route(json(adminWrite((req) => createWebhook(deps, req.body)))));
    admin.get(
      labels.route("/webhooks", ADMIN_PATH),
      route(() => listWebhooks(deps)),
    );
    admin.delete(
      labels.route("/webhooks/:id", ADMIN_PATH),
      route((req) => deleteWebhook(deps, hook(req))),
    );
    admin.get(
      labels.route("/webhooks/:id/deliveries", ADMIN_PATH),
      route((req) => listDeliveries(deps, hook(req), req.query)),
    );
    // The board is mounted first: it has its own (Basic) authentication.
    app.use(
      labels.mount(config.BULL_BOARD_PATH),
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

function send(res: Response, result: HttpResult): void {
  if (result.cause !== undefined) res.locals.cause = result.cause;
  if (result.headers) res.set(result.headers);
  res.status(result.status).json(result.body);
}
