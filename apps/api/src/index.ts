export { createApp } from "./app";
export { createApiDeps, type ApiDeps } from "./deps";
