import { randomUUID } from "node:crypto";
import express, { type NextFunction, type Request, type Response } from "express";
import type { ApiDeps } from "./deps";
import { failure, type HttpResult } from "./http/result";
import { addToCart, getCart } from "./handlers/cart";
import { checkOutCart } from "./handlers/checkout";
import { getProduct, listProducts } from "./handlers/catalog";
import { getOrder, listClientOrders } from "./handlers/orders";
import { healthz, readyz } from "./handlers/health";

type Handler = (req: Request) => HttpResult | Promise<HttpResult>;

/** Builds the Express app without listening, so tests drive it in-process. The only file that knows Express. */
export function createApp(deps: ApiDeps): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  app.set("query parser", "simple");

  app.use((req, res, next) => {
    const incoming = req.get("x-request-id");
    const requestId = incoming && /^[\w.-]{1,100}$/.test(incoming) ? incoming : randomUUID();
    res.locals.requestId = requestId;
    res.setHeader("X-Request-Id", requestId);
    next();
  });
  app.use(express.json({ limit: deps.config.MAX_BODY_BYTES, strict: true }));

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
      req.is("application/json") ? handler(req) : failure(415, "Content-Type must be application/json");

  app.post("/addToCart", route(json((req) => addToCart(deps, req.body, ctx(req)))));
  app.post(
    "/checkOutCart",
    route(
      json((req) =>
        checkOutCart(deps, req.body, ctx(req), { respondAsync: /\brespond-async\b/i.test(req.get("prefer") ?? "") }),
      ),
    ),
  );
  app.get(
    "/cart/:clientID",
    route((req) => getCart(deps, String(req.params.clientID))),
  );
  app.get(
    "/products",
    route((req) => listProducts(deps, req.query)),
  );
  app.get(
    "/products/:productID",
    route((req) => getProduct(deps, String(req.params.productID))),
  );
  app.get(
    "/orders/:orderId",
    route((req) => getOrder(deps, String(req.params.orderId))),
  );
  app.get(
    "/clients/:clientID/orders",
    route((req) => listClientOrders(deps, String(req.params.clientID))),
  );
  app.get(
    "/healthz",
    route(() => healthz()),
  );
  app.get(
    "/readyz",
    route(() => readyz(deps)),
  );

  app.use((req, res) => send(res, failure(404, `no route ${req.method} ${req.path}`)));
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const known = bodyParserFailure(err);
    if (known) return send(res, known);
    deps.logger.error(
      { requestId: res.locals.requestId, path: req.path, err: err instanceof Error ? err.message : String(err) },
      "unhandled error",
    );
    send(res, failure(500, "internal error"));
  });
  return app;
}

function send(res: Response, result: HttpResult): void {
  if (result.headers) res.set(result.headers);
  res.status(result.status).json(result.body);
}

/** body-parser's errors are the client's: answer them with 4xx and a plain message. */
function bodyParserFailure(err: unknown): HttpResult | null {
  const type = (err as { type?: string } | null)?.type;
  switch (type) {
    case "entity.parse.failed":
      return failure(400, "malformed JSON body");
    case "entity.too.large":
      return failure(413, "request body too large");
    case "encoding.unsupported":
    case "charset.unsupported":
      return failure(415, "unsupported body encoding");
    case "request.aborted":
    case "request.size.invalid":
    case "stream.encoding.set":
      return failure(400, "incomplete request body");
    default:
      return null;
  }
}
