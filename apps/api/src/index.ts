export { createApp } from "./app";
export { createApiDeps, type ApiDeps } from "./deps";
export { createApiServer } from "./http/server";
