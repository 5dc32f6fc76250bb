import {
  loadApiConfig,
  loadAutoscalerConfig,
  loadWorkerConfig,
  type ApiConfig,
  type AutoscalerConfig,
  type WorkerConfig,
} from "@oms/shared";

/** Every process's settings in one object: a test runs the API, the workers and the autoscaler from one. */
export type SystemConfig = ApiConfig & WorkerConfig & AutoscalerConfig;

/** Each process's settings parsed by its own loader, as each process would at start-up. */
export function loadSystemConfig(env: Record<string, string | undefined>): SystemConfig {
  return { ...loadApiConfig(env), ...loadWorkerConfig(env), ...loadAutoscalerConfig(env) };
}
