export { createApp } from "./app";
export { createApiDeps, type ApiDeps, type ApiWiring } from "./deps";
export { runApiProcess } from "./run-process";
export { createApiServer } from "./http/server";
