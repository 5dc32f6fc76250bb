/**
 * Start-up with bad configuration: the API process exits non-zero naming the setting, and
 * before it touches anything.
 */
import { describe, expect, it } from "vitest";
import { withTimeout } from "@oms/shared";
import { MYSQL_URL } from "../../../test/support/env";
import { databaseExists, freshDatabase, freshPrefix, setUpStartup, startApiProcess } from "./support/startup-processes";

setUpStartup();

describe("API, worker and autoscaler start-up: settings that cannot work stop the process", () => {
  // One bad value through a real process; every setting's validation is covered by
  // packages/shared/test/config.test.ts without paying a process start each.
  it.each([
    ["PORT", "abc"],
    ["REDIS_URL", "not-a-url"],
  ])(
    "exits non-zero when %s=%s, naming the setting on stderr",
    async (setting, value) => {
      const database = await freshDatabase("badcfg");
      const api = startApiProcess({
        HOST: "127.0.0.1",
        PORT: "0",
        DATABASE_URL: `${MYSQL_URL}/${database}`,
        REDIS_PREFIX: freshPrefix("badcfg"),
        [setting]: value,
      });

      const exit = await withTimeout(api.exited, 90_000, `the API's exit with ${setting}=${value}`);

      const { stdout, stderr } = api.output();
      expect(exit.code, `${stdout}\n${stderr}`).not.toBe(0);
      expect(exit.code).not.toBeNull();
      expect(stderr).toMatch(/Invalid configuration/);
      expect(stderr).toContain(setting);
      // It stopped before touching anything.
      expect(await databaseExists(database)).toBe(false);
    },
    120_000,
  );

  it("exits non-zero naming DATABASE_URL when it names an unusable database", async () => {
    const api = startApiProcess({
      HOST: "127.0.0.1",
      PORT: "0",
      DATABASE_URL: `${MYSQL_URL}/bad-name`,
      REDIS_PREFIX: freshPrefix("baddb"),
    });

    const exit = await withTimeout(api.exited, 90_000, "the API's exit with a bad database name");

    expect(exit.code).not.toBe(0);
    expect(exit.code).not.toBeNull();
    expect(api.output().stderr).toMatch(/DATABASE_URL/);
  }, 120_000);
});
