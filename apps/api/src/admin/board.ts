import express, { type Router } from "express";
import type { Queue } from "bullmq";
import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { ExpressAdapter } from "@bull-board/express";
import { basicRole } from "../http/auth";

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
 * admin's can retry and delete jobs, the viewer's is read-only.
 */
export function createBoardRouter(queues: Queue[], options: BoardOptions): Router {
  const build = (readOnlyMode: boolean) => {
    const serverAdapter = new ExpressAdapter();
    serverAdapter.setBasePath(`${options.publicBasePath}${options.path}`);
    createBullBoard({
      queues: queues.map((q) => new BullMQAdapter(q, { readOnlyMode, allowRetries: !readOnlyMode })),
      serverAdapter,
      options: { uiConfig: { boardTitle: readOnlyMode ? "Orders (read-only)" : "Orders" } },
    });
    return serverAdapter.getRouter() as Router;
  };
  const adminBoard = build(false);
  const viewerBoard = build(true);

  const router = express.Router();
  router.use((req, res, next) => {
    const role = basicRole(req, { admin: options.adminToken, viewer: options.viewerToken });
    if (!role) {
      res.setHeader("WWW-Authenticate", 'Basic realm="Bull Board", charset="UTF-8"');
      res.status(401).json({ status: "Failed", error: "credentials required" });
      return;
    }
    if (role === "viewer" && req.method !== "GET" && req.method !== "HEAD") {
      res.status(403).json({ status: "Failed", error: "the viewer is read-only" });
      return;
    }
    (role === "admin" ? adminBoard : viewerBoard)(req, res, next);
  });
  return router;
}
