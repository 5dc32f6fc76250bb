import { timingSafeEqual } from "node:crypto";
import type { NextFunction, Request, Response } from "express";
import { jwtVerify } from "jose";
import { failure, failureBody, type HttpResult } from "./result";

export type BoardRole = "admin" | "viewer";

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** `Authorization: Bearer <ADMIN_TOKEN>`; the caller only mounts this when a token is configured. */
export function requireAdminBearer(token: string) {
  return (req: Request, res: Response, next: NextFunction) => {
    const header = req.get("authorization") ?? "";
    const given = header.startsWith("Bearer ") ? header.slice(7) : "";
    if (given && sameSecret(given, token)) return next();
    res.setHeader("WWW-Authenticate", 'Bearer realm="admin"');
    res.status(401).json(failureBody("UNAUTHORIZED", "admin token missing or wrong"));
  };
}

/**
 * HTTP Basic for Bull Board, which a browser can send with every asset request:
 * user `admin` with ADMIN_TOKEN, or user `viewer` with VIEWER_TOKEN (read-only).
 */
export function basicRole(req: Request, tokens: { admin?: string; viewer?: string }): BoardRole | null {
  const header = req.get("authorization") ?? "";
  if (!header.startsWith("Basic ")) return null;
  const decoded = Buffer.from(header.slice(6), "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return null;
  const user = decoded.slice(0, colon);
  const password = decoded.slice(colon + 1);
  if (user === "admin" && tokens.admin && sameSecret(password, tokens.admin)) return "admin";
  if (user === "viewer" && tokens.viewer && sameSecret(password, tokens.viewer)) return "viewer";
  return null;
}

export type ClientIdentity = { ok: true; subject: string } | { ok: false; result: HttpResult };

/**
 * Client authentication, when a JWT secret is configured: an HS256 bearer token with exp
 * and iat, issued at most `maxAgeSeconds` ago; its subject is the client the request is from.
 */
export function clientAuthenticator(secret: Uint8Array, maxAgeSeconds: number) {
  return async (authorization: string | undefined): Promise<ClientIdentity> => {
    const token = authorization?.startsWith("Bearer ") ? authorization.slice(7) : "";
    if (!token)
      return {
        ok: false,
        result: failure(
          "UNAUTHORIZED",
          "a bearer token is required",
          {},
          { "WWW-Authenticate": 'Bearer realm="shop"' },
        ),
      };
    try {
      // A token that never expires, or whose age is unknown, would be good for ever once leaked.
      const { payload } = await jwtVerify(token, secret, {
        algorithms: ["HS256"],
        requiredClaims: ["exp", "iat"],
        maxTokenAge: maxAgeSeconds,
      });
      if (typeof payload.sub === "string") return { ok: true, subject: payload.sub };
    } catch {
      // Every reason a token is refused gets the same answer.
    }
    return {
      ok: false,
      result: failure(
        "UNAUTHORIZED",
        `invalid or expired token: it must be HS256 with sub, exp and iat, issued at most ${maxAgeSeconds} s ago`,
        {},
        { "WWW-Authenticate": 'Bearer realm="shop", error="invalid_token"' },
      ),
    };
  };
}
