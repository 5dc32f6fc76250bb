/**
 * The chaos suite's "node restarted empty" must really be empty. A replica writes the
 * RDB of its first full sync to its folder even with saving off, and redis-server loads
 * that file when it starts: a promoted replica restarted "empty" came back with the
 * data of that sync (the chaos check then saw the shard's old epoch marker, never
 * rebuilt, whenever the system had written it before the sync began).
 */
import { afterAll, beforeAll, expect, test } from "vitest";
import { Cluster } from "ioredis";
import { startLocalCluster, type LocalCluster } from "./support/redis-topology";
import { sleep } from "./chaos/infra";

let cluster: LocalCluster;
let client: Cluster;

beforeAll(async () => {
  cluster = await startLocalCluster();
  client = new Cluster(cluster.servers.map((s) => ({ host: "127.0.0.1", port: s.port })));
}, 60_000);

afterAll(async () => {
  client?.disconnect();
  await cluster?.stop();
});

test("a promoted replica restarted empty comes back without the data of its first sync", async () => {
  // Written before the replicas' first sync, which waits out repl-diskless-sync-delay (5 s).
  await client.set("{marker}epoch", "before-the-sync");
  await sleep(8_000);
  const primary = await cluster.primaryFor("{marker}epoch");
  await cluster.failOver(primary);
  const promoted = await cluster.primaryFor("{marker}epoch");
  expect(promoted).not.toBe(primary);
  expect(await client.get("{marker}epoch")).toBe("before-the-sync");

  await cluster.restartEmpty(promoted);
  expect(await client.get("{marker}epoch")).toBeNull();
}, 90_000);
