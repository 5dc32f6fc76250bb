/**
 * The redis-servers a world runs on, the benchmark's own (the shared 6379's counters and
 * CPU include its other clients): one standalone server, or a local Cluster of three
 * primaries with a replica each (test/support/redis-topology.ts). Each server is read
 * over a connection of its own, so its figures are its alone.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRedis } from "@oms/shared";
import { OwnRedis, freePort } from "../test/chaos/infra";
import { startLocalCluster } from "../test/support/redis-topology";

export interface RedisNode {
  name: string;
  port: number;
  pid: number;
  role: "standalone" | "primary" | "replica";
}

/** Stock shards on the Cluster: one per primary. */
export const CLUSTER_SHARDS = 3;
/** Far above any stall a loaded 2-core machine causes, so no replica takes over mid-run. */
const CLUSTER_NODE_TIMEOUT_MS = 15_000;

/** A number of INFO's `field:value` lines (0 when absent). */
const infoField = (info: string, field: string) => Number(new RegExp(`^${field}:(\\d+)`, "m").exec(info)?.[1] ?? 0);
/** `cmdstat_info:calls=12,...`: the benchmark's own INFO calls, left out of a node's commands. */
const infoCalls = (info: string) => Number(/^cmdstat_info:calls=(\d+)/m.exec(info)?.[1] ?? 0);

export class RedisServers {
  private readonly connections;

  private constructor(
    /** REDIS_URL and, on a Cluster, REDIS_CLUSTER_NODES and INVENTORY_SHARDS. */
    readonly env: Record<string, string>,
    readonly nodes: RedisNode[],
    readonly stop: () => Promise<void>,
  ) {
    this.connections = nodes.map((n) => createRedis(`redis://127.0.0.1:${n.port}`, { name: "bench-info" }));
  }

  static async start(cluster: boolean): Promise<RedisServers> {
    if (cluster) {
      const c = await startLocalCluster(CLUSTER_NODE_TIMEOUT_MS);
      const primaries = await c.primaries();
      const nodes = c.servers.map((s) => node(s, primaries.includes(s.port) ? "primary" : "replica"));
      const env = { REDIS_URL: c.servers[0]?.url ?? "", REDIS_CLUSTER_NODES: c.seeds };
      return new RedisServers({ ...env, INVENTORY_SHARDS: String(CLUSTER_SHARDS) }, nodes, () => c.stop());
    }
    const dir = mkdtempSync(join(tmpdir(), "oms-bench-redis-"));
    const server = new OwnRedis(await freePort(), dir);
    const killNow = () => server.killNow();
    process.once("exit", killNow);
    const stop = async () => {
      process.off("exit", killNow);
      await server.kill();
      rmSync(dir, { recursive: true, force: true });
    };
    try {
      await server.start();
    } catch (err) {
      await stop();
      throw err;
    }
    return new RedisServers({ REDIS_URL: server.url }, [node(server, "standalone")], stop);
  }

  /** Commands each node processed so far, in node order (its INFO calls for the benchmark left out). */
  async commands(): Promise<number[]> {
    const infos = await Promise.all(this.connections.map((r) => r.info("stats", "commandstats")));
    return infos.map((info) => infoField(info, "total_commands_processed") - infoCalls(info));
  }

  /** INFO memory used_memory, summed over the nodes. */
  async usedMemory(): Promise<number> {
    const infos = await Promise.all(this.connections.map((r) => r.info("memory")));
    return infos.reduce((sum, info) => sum + infoField(info, "used_memory"), 0);
  }

  async close(): Promise<void> {
    for (const r of this.connections) r.disconnect();
    await this.stop();
  }
}

function node(server: OwnRedis, role: RedisNode["role"]): RedisNode {
  if (server.pid === undefined) throw new Error(`redis-server on port ${server.port} has no pid`);
  return { name: `redis:${server.port}`, port: server.port, pid: server.pid, role };
}
