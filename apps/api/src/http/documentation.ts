import { createRequire } from "node:module";
import { dirname } from "node:path";
import express from "express";
import helmet from "helmet";

const swaggerUiAssets = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));

/** Swagger UI at /documentation, reading /openapi.json; its assets come from swagger-ui-dist, served locally. */
export function documentationRouter(basePath: string): express.Router {
  const docs = express.Router();
  docs.use(helmet.contentSecurityPolicy());
  docs.get("/", (_req, res) => res.type("html").send(documentationPage(basePath)));
  docs.get("/init.js", (_req, res) => res.type("js").send(documentationInit(basePath)));
  docs.use("/assets", express.static(swaggerUiAssets, { index: false, maxAge: "1h" }));
  return docs;
}

function documentationPage(basePath: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Order management API</title>
<link rel="stylesheet" href="${basePath}/documentation/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="${basePath}/documentation/assets/swagger-ui-bundle.js"></script>
<script src="${basePath}/documentation/init.js"></script>
</body></html>`;
}

function documentationInit(basePath: string): string {
  return `window.ui = SwaggerUIBundle({ url: ${JSON.stringify(`${basePath}/openapi.json`)}, dom_id: "#swagger-ui" });`;
}
