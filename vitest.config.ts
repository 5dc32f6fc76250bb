import { defineConfig } from "vitest/config";

/**
 * `vitest run` (`npm test`) runs two projects. "standalone": every suite, on the Redis
 * on 127.0.0.1:6379. "cluster": the HTTP suites (`*.http.test.ts`: add to cart, cart
 * edits, checkout and its lock, reads and paging, idempotency and rate limits, the order
 * lifecycle, restocks, holds) again, on one local Redis Cluster (six redis-servers,
 * three primaries with a replica each, started once by test/support/cluster-run.ts)
 * with INVENTORY_SHARDS=3, so a key in the wrong slot, a CROSSSLOT script or a command
 * that works on one server only fails a test. Each file still has its own prefix and
 * database.
 *
 * Standalone only, because they cannot run on a Cluster:
 * - apps/api/test/startup-*.test.ts, test/build.test.ts: they start the system as child
 *   processes from REDIS_URL, and clean up with a scan stream of one server;
 * - packages/inventory/test/cluster-slots.test.ts: it reads MONITOR of one server to see
 *   the keys of every script call (it is the test that they share a slot);
 * - packages/inventory/test/{engine-*,scripts-*,concurrency-*,lease,stock-change,shards}:
 *   the engine below HTTP, through helpers typed for one server;
 * - test/chaos*, test/redis-cluster.test.ts, test/redis-sentinel.test.ts: they start
 *   and kill deployments of their own.
 * Standalone only to keep the run short (they could run on the cluster): the other
 * suites that use HTTP (apps/api fuzz, operator-*, metrics, route table; apps/workers
 * suites of concurrency, webhooks, outages and races, which test processes and MySQL
 * more than Redis).
 */
const ON_CLUSTER = ["apps/*/test/**/*.http.test.ts"];

export default defineConfig({
  test: {
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Every file has its own database and key prefix, so files run in parallel; most of
    // their time is spent waiting on Redis, MySQL and child processes, so more files than
    // cores run at once (the default would run one at a time on a 2-core machine).
    fileParallelism: true,
    maxWorkers: 3,
    projects: [
      {
        extends: true,
        test: {
          name: "standalone",
          include: ["{apps,packages,migrations}/*/test/**/*.test.ts", "test/**/*.test.ts"],
        },
      },
      {
        extends: true,
        test: {
          name: "cluster",
          include: ON_CLUSTER,
          // Six redis-servers for the whole run; each file still has its own prefix and database.
          globalSetup: ["test/support/cluster-run.ts"],
          // Starting the cluster and three stock shards per file take a little longer.
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
