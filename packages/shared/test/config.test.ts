import { describe, expect, test } from "vitest";
import { ConfigError, ConfigSchema, loadConfig } from "@oms/shared";

describe("loadConfig", () => {
  test("defaults match the original service and the local servers", () => {
    const config = loadConfig({});
    expect(config.PORT).toBe(5003);
    expect(config.REDIS_URL).toBe("redis://127.0.0.1:6379");
    expect(config.DATABASE_URL).toBe("mysql://root@127.0.0.1:3306/orders");
    expect(config.WORKER_QUEUES).toEqual(["cart", "checkout", "inventory"]);
    expect(config.ADMIN_TOKEN).toBeUndefined();
  });

  test.each([
    ["PORT", "abc"],
    ["PORT", "70000"],
    ["REDIS_URL", "not-a-url"],
    ["REDIS_URL", "http://127.0.0.1:6379"],
    ["DATABASE_URL", "not-a-url"],
    ["DATABASE_URL", "postgres://x@y/z"],
    ["LOG_LEVEL", "loud"],
    ["REDIS_PREFIX", "has space"],
    ["WORKER_QUEUES", "cart,emails"],
    ["ADMIN_TOKEN", "short"],
    ["JWT_SECRET", "too-short-for-hs256"],
    ["SEED_ON_START", "maybe"],
    ["HOLD_TTL_MS", "-5"],
  ])("%s=%s is refused with a message naming the setting", (setting, value) => {
    let error: unknown;
    try {
      loadConfig({ [setting]: value });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.join("\n")).toContain(setting);
    expect((error as ConfigError).message).toMatch(/^Invalid configuration/);
  });

  test("every bad setting is reported at once", () => {
    expect(() => loadConfig({ PORT: "abc", LOG_LEVEL: "loud" })).toThrow(/PORT[\s\S]*LOG_LEVEL|LOG_LEVEL[\s\S]*PORT/);
  });

  test("an empty value counts as unset", () => {
    expect(loadConfig({ PORT: "" }).PORT).toBe(5003);
  });

  test("every setting is described", () => {
    for (const [name, schema] of Object.entries(ConfigSchema.shape)) expect(schema.description, name).toBeTruthy();
  });
});
