export * from "./child";
export * from "./ports";
export * from "./ready";
export * from "./wait";
