import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["{apps,packages,migrations}/*/test/**/*.test.ts", "test/**/*.test.ts"],
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Every file has its own database and key prefix, so files run in parallel.
    fileParallelism: true,
  },
});
