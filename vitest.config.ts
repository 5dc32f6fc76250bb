import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["{apps,packages,migrations}/*/test/**/*.test.ts", "test/**/*.test.ts"],
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Every file has its own database and key prefix, so files run in parallel; most of
    // their time is spent waiting on Redis, MySQL and child processes, so more files than
    // cores run at once (the default would run one at a time on a 2-core machine).
    fileParallelism: true,
    maxWorkers: 3,
  },
});
