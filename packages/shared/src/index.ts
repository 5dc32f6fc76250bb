export * from "./config";
export * from "./schemas";
export * from "./keys";
export * from "./logger";
export * from "./redis";
export * from "./db";
export * from "./queues";
export * from "./config-doc";
