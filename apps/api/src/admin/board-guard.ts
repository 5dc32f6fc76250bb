import type { NextFunction, Request, Response } from "express";
import { failureBody } from "../http/result";

/**
 * Bull Board authenticates with HTTP Basic, which a browser resends on its own with a
 * request another site's page makes (a form post). Such a request carries a foreign
 * Origin (or Referer) and a form encoding; the board's own pages send JSON from the
 * board's host, and scripts such as curl send no Origin at all.
 */
export function refuseCrossSiteWrites(req: Request, res: Response, next: NextFunction): void {
  if (req.method === "GET" || req.method === "HEAD") return next();
  const source = req.get("origin") ?? req.get("referer");
  if (source !== undefined && !fromHost(source, req.host)) {
    res
      .status(403)
      .json(
        failureBody(
          "FORBIDDEN",
          `Bull Board writes must come from the board's own origin (${req.host}); Origin or Referer names another`,
        ),
      );
    return;
  }
  // A form can send any of its encodings with no preflight; JSON needs one, which no other site passes.
  const type = req.get("content-type");
  const hasBody = Number(req.get("content-length") ?? 0) > 0 || req.get("transfer-encoding") !== undefined;
  if ((type !== undefined || hasBody) && !req.is("application/json")) {
    res
      .status(415)
      .json(failureBody("UNSUPPORTED_MEDIA_TYPE", "Bull Board writes take Content-Type application/json only"));
    return;
  }
  next();
}

function fromHost(source: string, host: string): boolean {
  try {
    return new URL(source).host === host;
  } catch {
    // "null" (a sandboxed frame, a file) or garbage: not the board.
    return false;
  }
}
