export { integer } from "./settings";
export { BaseSchema, type BaseConfig } from "./base";
export { ApiSchema, type ApiConfig } from "./api";
export { WorkerSchema, type WorkerConfig } from "./worker";
export { AutoscalerSchema, DemoSchema, type AutoscalerConfig, type DemoConfig } from "./autoscaler";
export * from "./load";
export * from "./table";
