import express, { type Router } from "express";
import type { Queue } from "bullmq";
import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { ExpressAdapter } from "@bull-board/express";
import { basicRole } from "../http/auth";
import { failureBody } from "../http/result";
import { refuseCrossSiteWrites } from "./board-guard";
import { forViewer, redactSecrets } from "./board-redact";

export interface BoardOptions {
  /** Where the app mounts the board, e.g. /admin/queues. */
  path: string;
  /** A prefix a reverse proxy adds in front of the app, so asset links resolve. */
  publicBasePath: string;
  adminToken?: string;
  viewerToken?: string;
}

/**
 * Bull Board behind HTTP Basic. Two boards over the same queues share one path: the
 * admin's can retry and delete jobs, the viewer's is read-only and sees no stack traces
 * and no Redis details. Neither shows payment tokens, and writes must come from the
 * board's own origin as JSON.
 */
export function createBoardRouter(queues: Queue[], options: BoardOptions): Router {
  const build = (readOnlyMode: boolean) => {
    const serverAdapter = new ExpressAdapter();
    serverAdapter.setBasePath(`${options.publicBasePath}${options.path}`);
    const adapters = queues.map((q) => {
      const adapter = new BullMQAdapter(q, { readOnlyMode, allowRetries: !readOnlyMode });
      adapter.setFormatter("data", redactSecrets);
      adapter.setFormatter("returnValue", redactSecrets);
      return adapter;
    });
    createBullBoard({
      queues: adapters,
      serverAdapter,
      options: {
        uiConfig: { boardTitle: readOnlyMode ? "Orders (read-only)" : "Orders", hideRedisDetails: readOnlyMode },
      },
    });
    // The adapter is an Express app of its own, with Express's default banner.
    const app = serverAdapter.getRouter() as express.Express;
    app.disable("x-powered-by");
    return app as Router;
  };
  const adminBoard = build(false);
  const viewerBoard = build(true);

  const router = express.Router();
  router.use((req, res, next) => {
    const role = basicRole(req, { admin: options.adminToken, viewer: options.viewerToken });
    if (!role) {
      res.setHeader("WWW-Authenticate", 'Basic realm="Bull Board", charset="UTF-8"');
      res.status(401).json(failureBody("UNAUTHORIZED", "credentials required"));
      return;
    }
    if (role === "viewer" && req.method !== "GET" && req.method !== "HEAD") {
      res.status(403).json(failureBody("FORBIDDEN", "the viewer is read-only"));
      return;
    }
    if (role === "viewer") {
      const json = res.json.bind(res);
      res.json = (body: unknown) => json(forViewer(body));
    }
    res.locals.boardRole = role;
    next();
  });
  router.use(refuseCrossSiteWrites);
  router.use((req, res, next) => (res.locals.boardRole === "admin" ? adminBoard : viewerBoard)(req, res, next));
  return router;
}
