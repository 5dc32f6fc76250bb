import type { z } from "zod";
import { ApiSchema, API_SETTINGS, type ApiConfig } from "./api";
import {
  AutoscalerSchema,
  AUTOSCALER_SETTINGS,
  DemoSchema,
  DEMO_SETTINGS,
  type AutoscalerConfig,
  type DemoConfig,
} from "./autoscaler";
import { BaseSchema, BASE_SETTINGS, redisModeProblems, type BaseConfig } from "./base";
import { WorkerSchema, WORKER_SETTINGS, type WorkerConfig } from "./worker";
import { errorMessage } from "../parse";

type Env = Record<string, string | undefined>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/**
 * Parses the settings a schema names from the environment (an empty value counts as
 * unset; other variables are ignored); a bad value throws a ConfigError naming each setting.
 */
export function loadSettings<S extends z.ZodObject>(schema: S, env: Env = process.env): z.infer<S> {
  const relevant = Object.fromEntries(
    Object.keys(schema.shape)
      .filter((k) => env[k] !== undefined && env[k] !== "")
      .map((k) => [k, env[k]]),
  );
  const parsed = schema.safeParse(relevant);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`));
  }
  return parsed.data;
}

/** A process's settings, with the Redis ones that only make sense together checked together. */
function loadProcessConfig<S extends typeof BaseSchema>(schema: S, env: Env): z.infer<S> {
  const config = loadSettings(schema, env);
  const problems = redisModeProblems(config);
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** What one-off tools need (migrations, seeding): where the databases are. */
export const loadBaseConfig = (env: Env = process.env): BaseConfig => loadProcessConfig(BaseSchema, env);
export const loadApiConfig = (env: Env = process.env): ApiConfig => loadProcessConfig(ApiSchema, env);
export const loadWorkerConfig = (env: Env = process.env): WorkerConfig => loadProcessConfig(WorkerSchema, env);
export const loadAutoscalerConfig = (env: Env = process.env): AutoscalerConfig =>
  loadProcessConfig(AutoscalerSchema, env);
/** `npm start`: the API's, the autoscaler's and its own settings (the workers read theirs). */
export const loadDemoConfig = (env: Env = process.env): DemoConfig => loadProcessConfig(DemoSchema, env);

/** The settings of each process, in the order the README lists them. */
export const SETTING_GROUPS = [
  { title: "Every process", settings: BASE_SETTINGS },
  { title: "API (`apps/api`)", settings: API_SETTINGS },
  { title: "Workers (`apps/workers`)", settings: WORKER_SETTINGS },
  { title: "Autoscaler (`apps/workers/src/autoscale`)", settings: AUTOSCALER_SETTINGS },
  { title: "`npm start` (the local demo)", settings: DEMO_SETTINGS },
] as const;

/** Every variable some process reads (for a harness that must keep a stray one out of a child). */
export const SETTING_NAMES: readonly string[] = SETTING_GROUPS.flatMap((g) => Object.keys(g.settings));

/**
 * Runs a process's start-up; a failure prints one line (a bad setting names itself)
 * instead of a stack trace, and the process exits 1.
 */
export function runEntryPoint(what: string, main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    const message = err instanceof ConfigError ? err.message : `${what} failed to start: ${errorMessage(err)}`;
    console.error(message);
    process.exit(1);
  });
}
