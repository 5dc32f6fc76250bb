import type { NextFunction, Request, Response, Router } from "express";
import { fieldOf } from "@oms/shared";
import type { ApiDeps } from "../deps";
import { requestHeaders, type HeaderName } from "../routes/headers";
import type { AuthKind, RouteRequest, RouteSpec } from "../routes/types";
import { clientAuthenticator } from "./auth";
import { createClientAdmission } from "./client-admission";
import { withIdempotency } from "./idempotency";
import { createClientLimiter } from "./rate-limit";
import { failure, type HttpResult } from "./result";
import type { RouteLabels } from "./route-labels";

/** Where the admin API's router is mounted; every `admin` route's path starts with it. */
export const ADMIN_PATH = "/admin";

/** An owner no order has: a request without a valid token sees no order. */
const NOBODY = "\u0000nobody";

type Caller = { ok: true; owner?: string } | { ok: false; result: HttpResult };

interface Targets {
  app: Router;
  /** The router behind `Bearer ADMIN_TOKEN`, mounted at ADMIN_PATH; absent without ADMIN_TOKEN. */
  admin: Router | undefined;
  labels: RouteLabels;
}

/**
 * Mounts the route table on Express: the one place a route's declaration becomes its
 * behaviour. Per request, in this order: the body's media type (415), the caller (JWT,
 * then the rate limiter), the Idempotency-Key, then the handler.
 */
export function mountRoutes(deps: ApiDeps, routes: readonly RouteSpec[], targets: Targets): void {
  const { config } = deps;
  const limiter = createClientLimiter(deps.redis, deps.keys.rateLimit, config.RATE_LIMIT_PER_MINUTE);
  const authenticate = config.JWT_SECRET
    ? clientAuthenticator(new TextEncoder().encode(config.JWT_SECRET), config.JWT_MAX_AGE_S)
    : undefined;
  const admit = createClientAdmission(limiter, authenticate);

  /**
   * Who the caller is, as the route's auth kind asks: for `owner` routes (JWT on) whose
   * orders it may see. `admin` is the admin router's own guard, `none` needs nobody.
   */
  async function caller(auth: AuthKind, req: Request, view: RouteRequest): Promise<Caller> {
    const authorization = req.get("authorization");
    if (auth === "client-body" || auth === "client-path") {
      const clientID = auth === "client-body" ? fieldOf(view.body, "clientID") : view.params.clientID;
      const admission = await admit({ clientID, authorization, ip: req.ip });
      if (!admission.ok) return admission;
      if (admission.subject !== undefined && typeof clientID === "string" && admission.subject !== clientID)
        return { ok: false, result: failure("FORBIDDEN", "the token does not belong to this clientID") };
      return { ok: true };
    }
    if (auth !== "owner" || !authenticate) return { ok: true };
    const admission = await admit({ clientID: undefined, authorization, ip: req.ip });
    if (admission.ok) return { ok: true, owner: admission.subject ?? NOBODY };
    return admission.result.status === 401 ? { ok: true, owner: NOBODY } : admission;
  }

  async function answer(route: RouteSpec, req: Request): Promise<HttpResult> {
    const refused = mediaTypeRefusal(route, req);
    if (refused) return refused;
    const reads = new Set<HeaderName>(requestHeaders(route));
    const view: RouteRequest = {
      params: req.params,
      query: req.query,
      body: req.body,
      header(name) {
        if (!reads.has(name)) throw new Error(`${route.operationId} reads ${name} without declaring it`);
        return req.get(name);
      },
      ctx: { requestId: String(req.res?.locals.requestId ?? "") },
    };
    const who = await caller(route.auth, req, view);
    if (!who.ok) return who.result;
    if (who.owner !== undefined) view.owner = who.owner;
    const run = async () => route.handler(deps, view);
    if (!route.idempotency) return run();
    const options = { redis: deps.redis, keys: deps.keys, ttlMs: config.IDEMPOTENCY_TTL_MS, logger: deps.logger };
    const key = req.get("idempotency-key");
    const body = { path: req.originalUrl, body: req.body };
    return withIdempotency({ ...options, scope: route.idempotency(view), key, body }, run);
  }

  for (const route of routes) {
    const router = route.auth === "admin" ? targets.admin : targets.app;
    const prefix = route.auth === "admin" ? ADMIN_PATH : "";
    if (!router || !route.path.startsWith(prefix)) throw new Error(`cannot mount ${route.method} ${route.path}`);
    targets.labels.route(route.path);
    router[route.method](route.path.slice(prefix.length), async (req: Request, res: Response, next: NextFunction) => {
      try {
        send(res, await answer(route, req));
      } catch (err) {
        next(err);
      }
    });
  }
}

/**
 * A JSON body must say so (415). An optional one may be absent, but one that is sent must
 * be JSON: a body the parser skipped would otherwise read as no body at all.
 * (`Content-Length: 0`, which fetch sends for an empty POST, is no body.)
 */
function mediaTypeRefusal(route: RouteSpec, req: Request): HttpResult | undefined {
  if (!route.body || req.is("application/json")) return undefined;
  const sent = req.get("transfer-encoding") !== undefined || Number(req.get("content-length") ?? 0) > 0;
  if (route.body.optional && !sent) return undefined;
  return failure("UNSUPPORTED_MEDIA_TYPE", "Content-Type must be application/json");
}

/** The one writer of a handler's result. */
export function send(res: Response, result: HttpResult): void {
  if (result.cause !== undefined) res.locals.cause = result.cause;
  if (result.headers) res.set(result.headers);
  res.status(result.status);
  if (result.contentType) res.type(result.contentType).send(result.body);
  else res.json(result.body);
}
