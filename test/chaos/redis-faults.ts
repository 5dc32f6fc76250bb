/**
 * The Redis a chaos run starts and the Redis faults it injects. The default is one
 * redis-server of the run's own, restarted empty. `--cluster` starts a six-node Redis
 * Cluster (three primaries, a replica each) instead: the system reaches it through
 * REDIS_CLUSTER_NODES with three stock shards, and each planned Redis fault becomes a
 * primary SIGKILLed mid-sale (its replica promoted) followed by a node restarted empty.
 */
import { join } from "node:path";
import type { Keyspace, RedisClient, RedisTarget } from "@oms/shared";
import { startLocalCluster, type LocalCluster } from "../support/redis-topology";
import { OwnRedis, freePort } from "./infra";
import type { CheckResult } from "./invariants";
import type { Random } from "./prng";

/** Stock shards on the cluster: one per primary, so a node's loss takes some of them, not all. */
export const CLUSTER_SHARDS = 3;

/** Whose node a cluster fault hits: the one serving the hot product's stock shard, or another. */
type Victim = "hot" | "other";

export type RedisFault =
  | { kind: "redis_restart"; atMs: number; downMs: number }
  | { kind: "redis_primary_kill"; atMs: number; victim: Victim }
  | { kind: "redis_node_empty"; atMs: number; victim: Victim };

/** How long a Redis fault keeps the answers of admin writes in doubt, from its start. */
export function redisFaultSpanMs(fault: RedisFault): number {
  switch (fault.kind) {
    case "redis_restart":
      return fault.downMs;
    // The replica takes over after the node timeout (1.5 s) and an election.
    case "redis_primary_kill":
      return 6_000;
    case "redis_node_empty":
      return 2_000;
  }
}

/** What a fault needs from the run that injects it. */
export interface FaultContext {
  keys: Keyspace;
  /** The hot product's stock key: the cluster faults aim at its node when the seed says so. */
  hotKey: string;
  /** The run's own connection to Redis. */
  redis: () => RedisClient;
  event(line: string): void;
  count(fault: string): void;
  /** The fault was in effect from `startMs` until now (for the 30 s bound). */
  faultOver(kind: string, startMs: number): void;
}

export interface ChaosRedis {
  /** For the set-up log line. */
  readonly label: string;
  readonly target: RedisTarget;
  /** The settings API, workers and autoscaler get to reach this Redis. */
  readonly env: Record<string, string>;
  /** The faults one planned Redis outage (at `atMs`, down for `downMs`) becomes. */
  plan(atMs: number, downMs: number, rng: Random): RedisFault[];
  inject(fault: RedisFault, context: FaultContext): Promise<void>;
  /** Checks of this deployment's own faults, run once the system is quiet. */
  checks(context: FaultContext): Promise<CheckResult[]>;
  /** Synchronous best effort, for process exit handlers. */
  killNow(): void;
  stop(): Promise<void>;
}

export async function startChaosRedis(cluster: boolean, logDir: string): Promise<ChaosRedis> {
  if (cluster) return ClusterRedis.start();
  const server = new OwnRedis(await freePort(), join(logDir, "redis"));
  await server.start();
  return new SingleRedis(server);
}

/** One redis-server; its fault is a restart with its data gone. */
class SingleRedis implements ChaosRedis {
  readonly label: string;
  readonly target: RedisTarget;
  readonly env: Record<string, string>;

  constructor(private readonly server: OwnRedis) {
    this.label = `redis :${server.port}`;
    this.target = { mode: "standalone", url: server.url };
    this.env = { REDIS_URL: server.url };
  }

  plan(atMs: number, downMs: number): RedisFault[] {
    return [{ kind: "redis_restart", atMs, downMs }];
  }

  async inject(fault: RedisFault, context: FaultContext): Promise<void> {
    if (fault.kind !== "redis_restart") throw new Error(`${fault.kind} needs a Redis Cluster`);
    context.event(`Redis killed; down for ${fault.downMs} ms, then started empty`);
    const start = Date.now();
    await this.server.restart(fault.downMs);
    context.faultOver("a Redis restart", start);
    context.count("redis_restart");
    context.event("Redis is back (empty)");
  }

  async checks(): Promise<CheckResult[]> {
    return [];
  }

  killNow(): void {
    this.server.killNow();
  }

  stop(): Promise<void> {
    return this.server.kill();
  }
}

/** What the stock shards' epoch markers were just before a node restarted empty. */
interface EmptiedNode {
  port: number;
  /** Shards whose slot that node served. */
  held: number[];
  markers: Array<string | null>;
}

/** Six cluster nodes; a primary killed (its replica promoted), then a node restarted empty. */
class ClusterRedis implements ChaosRedis {
  readonly label: string;
  readonly target: RedisTarget;
  readonly env: Record<string, string>;
  /** One cluster fault at a time: a restart during a failover would race the election. */
  private busy: Promise<void> = Promise.resolve();
  private readonly emptied: EmptiedNode[] = [];

  private constructor(private readonly cluster: LocalCluster) {
    const nodes = cluster.servers.map((s) => ({ host: "127.0.0.1", port: s.port }));
    // With REDIS_CLUSTER_NODES set, REDIS_URL only carries credentials (none here).
    const url = cluster.servers[0]?.url ?? "redis://127.0.0.1";
    this.label = `redis cluster ${nodes.map((n) => `:${n.port}`).join(",")}`;
    this.target = { mode: "cluster", url, nodes };
    this.env = {
      REDIS_URL: url,
      REDIS_CLUSTER_NODES: cluster.seeds,
      INVENTORY_SHARDS: String(CLUSTER_SHARDS),
      // The design's answer to a replica missing the last writes: a reservation and the
      // start of payment are on the replica before the checkout goes on.
      REDIS_WAIT_REPLICAS: "1",
      REDIS_WAIT_TIMEOUT_MS: "200",
    };
  }

  static async start(): Promise<ClusterRedis> {
    return new ClusterRedis(await startLocalCluster());
  }

  plan(atMs: number, _downMs: number, rng: Random): RedisFault[] {
    return [
      { kind: "redis_primary_kill", atMs, victim: rng.chance(0.5) ? "hot" : "other" },
      // After the failover has settled, so the two faults are seen apart.
      { kind: "redis_node_empty", atMs: atMs + rng.int(5_000, 8_000), victim: rng.chance(0.5) ? "hot" : "other" },
    ];
  }

  inject(fault: RedisFault, context: FaultContext): Promise<void> {
    const run = this.busy.then(() => this.injectNow(fault, context));
    this.busy = run.catch(() => undefined);
    return run;
  }

  private async injectNow(fault: RedisFault, context: FaultContext): Promise<void> {
    if (fault.kind === "redis_restart") throw new Error("a cluster's faults are kills and empty restarts of nodes");
    const victim = await this.pickPrimary(fault.victim, context.hotKey);
    const start = Date.now();
    if (fault.kind === "redis_primary_kill") {
      context.event(`Redis primary :${victim} SIGKILLed (${fault.victim} shard's node); its replica must take over`);
      await this.cluster.failOver(victim);
      context.faultOver("a Redis primary's SIGKILL and failover", start);
      context.count(`redis_primary_kill:${fault.victim}`);
      context.event(`Redis failover over in ${Date.now() - start} ms; primaries now ${await this.primaryList()}`);
      return;
    }
    const { keys } = context;
    const epochKeys = keys.shards.map((n) => keys.epoch(n));
    const owners = await Promise.all(epochKeys.map((key) => this.cluster.primaryFor(key)));
    const markers = await Promise.all(epochKeys.map((key) => context.redis().get(key)));
    const held = keys.shards.filter((_, i) => owners[i] === victim);
    context.event(`Redis node :${victim} (${fault.victim}; stock shards [${held.join(",")}]) restarted empty`);
    await this.cluster.restartEmpty(victim);
    this.emptied.push({ port: victim, held, markers });
    context.faultOver("a Redis node's empty restart", start);
    context.count(`redis_node_empty:${fault.victim}`);
    context.event(`Redis node :${victim} serves its slots again, empty, after ${Date.now() - start} ms`);
  }

  /** The primary serving the hot shard, or (when there is one) a primary that does not. */
  private async pickPrimary(victim: Victim, hotKey: string): Promise<number> {
    const hot = await this.cluster.primaryFor(hotKey);
    if (victim === "hot") return hot;
    const others = (await this.cluster.primaries()).filter((p) => p !== hot).sort((a, b) => a - b);
    return others[0] ?? hot;
  }

  private async primaryList(): Promise<string> {
    return (await this.cluster.primaries())
      .sort((a, b) => a - b)
      .map((p) => `:${p}`)
      .join(",");
  }

  /**
   * A node restarted empty lost the epoch markers of the shards it held, and only those:
   * they must have been set again (a recovery ran for them), every other shard's marker
   * must still be the one it had (nothing else was rebuilt).
   */
  async checks(context: FaultContext): Promise<CheckResult[]> {
    const result: CheckResult = {
      name: "a node restarted empty: its shards recovered, no other shard rebuilt",
      checked: 0,
      violations: [],
      failed: 0,
    };
    const { keys } = context;
    const now = await Promise.all(keys.shards.map((n) => context.redis().get(keys.epoch(n))));
    // Each node's outcome is what the markers were when the next node went down, or now.
    for (const [i, node] of this.emptied.entries()) {
      const next = this.emptied[i + 1]?.markers ?? now;
      for (const shard of keys.shards) {
        result.checked++;
        const before = node.markers[shard] ?? null;
        const after = next[shard] ?? null;
        const problem = node.held.includes(shard)
          ? after === null || after === before
            ? `shard ${shard} was on node :${node.port} restarted empty, but its epoch marker was not set again (${after ?? "absent"})`
            : undefined
          : after !== before
            ? `shard ${shard} was not on node :${node.port}, yet its epoch marker changed from ${before} to ${after}`
            : undefined;
        if (problem) {
          result.violations.push(problem);
          result.failed++;
        }
      }
    }
    return this.emptied.length ? [result] : [];
  }

  killNow(): void {
    for (const server of this.cluster.servers) server.killNow();
  }

  stop(): Promise<void> {
    return this.cluster.stop();
  }
}
