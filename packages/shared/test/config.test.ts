import { describe, expect, test } from "vitest";
import {
  ApiSchema,
  AutoscalerSchema,
  BaseSchema,
  ConfigError,
  DemoSchema,
  SETTING_GROUPS,
  SETTING_NAMES,
  WorkerSchema,
  loadApiConfig,
  loadAutoscalerConfig,
  loadBaseConfig,
  loadWorkerConfig,
} from "@oms/shared";

/** The problems a loader reports for an environment (empty when it accepts it). */
function problems(load: (env: Record<string, string>) => unknown, env: Record<string, string>): string {
  try {
    load(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    expect(err.message).toMatch(/^Invalid configuration/);
    return err.problems.join("\n");
  }
  return "";
}

describe("each process loads its own settings", () => {
  test("defaults match the original service and the local servers", () => {
    expect(loadApiConfig({}).PORT).toBe(5003);
    expect(loadApiConfig({}).ADMIN_TOKEN).toBeUndefined();
    expect(loadBaseConfig({}).REDIS_URL).toBe("redis://127.0.0.1:6379");
    expect(loadBaseConfig({}).DATABASE_URL).toBe("mysql://root@127.0.0.1:3306/orders");
    expect(loadWorkerConfig({}).WORKER_QUEUES).toEqual(["cart", "checkout", "inventory"]);
  });

  test.each([
    [loadApiConfig, "PORT", "abc"],
    [loadApiConfig, "PORT", "70000"],
    [loadApiConfig, "ADMIN_TOKEN", "short"],
    [loadApiConfig, "JWT_SECRET", "too-short-for-hs256"],
    [loadWorkerConfig, "REDIS_URL", "not-a-url"],
    [loadWorkerConfig, "REDIS_URL", "http://127.0.0.1:6379"],
    [loadWorkerConfig, "DATABASE_URL", "postgres://x@y/z"],
    [loadWorkerConfig, "WORKER_QUEUES", "cart,emails"],
    [loadWorkerConfig, "HOLD_TTL_MS", "-5"],
    [loadAutoscalerConfig, "LOG_LEVEL", "loud"],
    [loadAutoscalerConfig, "REDIS_PREFIX", "has space"],
    [loadAutoscalerConfig, "MAX_STALLED", "0"],
    [loadBaseConfig, "DATABASE_URL", "not-a-url"],
  ])("%o refuses %s=%s with a message naming the setting", (load, setting, value) => {
    // A list's bad entry is named with its place (WORKER_QUEUES.1).
    expect(problems(load, { [setting]: value })).toMatch(new RegExp(`^${setting}[.:]`, "m"));
  });

  test("a process ignores the settings of the others, however bad", () => {
    expect(problems(loadApiConfig, { WORKER_QUEUES: "emails", AUTOSCALE_WORKERS: "nonsense" })).toBe("");
    expect(problems(loadWorkerConfig, { PORT: "abc", JWT_SECRET: "short" })).toBe("");
    expect(loadWorkerConfig({ PORT: "6000" })).not.toHaveProperty("PORT");
    expect(loadApiConfig({ WORKER_QUEUES: "cart" })).not.toHaveProperty("WORKER_QUEUES");
  });

  test("every bad setting is reported at once", () => {
    expect(problems(loadApiConfig, { PORT: "abc", LOG_LEVEL: "loud" })).toMatch(
      /PORT[\s\S]*LOG_LEVEL|LOG_LEVEL[\s\S]*PORT/,
    );
  });

  test("the Redis settings that go together are checked together, in every process", () => {
    for (const load of [loadApiConfig, loadWorkerConfig, loadAutoscalerConfig, loadBaseConfig])
      expect(problems(load, { REDIS_SENTINEL_NAME: "shop" })).toMatch(/REDIS_SENTINELS: required/);
  });

  test("an empty value counts as unset", () => {
    expect(loadApiConfig({ PORT: "" }).PORT).toBe(5003);
  });

  test("no benchmark or chaos switch is a production setting", () => {
    for (const name of ["INVENTORY_MODE", "BENCH_NOOP_WORKERS", "RESULT_PATH", "CHAOS_CRASH_AT", "CHAOS_CRASH_LIMIT"])
      expect(SETTING_NAMES).not.toContain(name);
  });

  test("every setting is described, and listed once in the README's groups", () => {
    const schemas = [BaseSchema, ApiSchema, WorkerSchema, AutoscalerSchema, DemoSchema];
    for (const schema of schemas)
      for (const [name, setting] of Object.entries(schema.shape)) expect(setting.description, name).toBeTruthy();
    expect(new Set(SETTING_NAMES).size).toBe(SETTING_NAMES.length);
    const grouped = new Set(SETTING_GROUPS.flatMap((g) => Object.keys(g.settings)));
    for (const schema of schemas) for (const name of Object.keys(schema.shape)) expect(grouped).toContain(name);
  });
});
