/**
 * Real Redis deployments for tests, on free loopback ports in a temp dir: a Cluster
 * (three primaries, a replica each) and a Sentinel set (primary, replica, three
 * sentinels). Every server is our own child process, stopped by pid; nothing here
 * touches the shared Redis on 6379.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import calculateSlot from "cluster-key-slot";
import { ephemeralPortStart, freePort, freePortRun, waitFor } from "@oms/shared";
import { OwnRedis, redisCommand } from "../chaos/infra";

const run = promisify(execFile);

/** Polls `check` until it holds (a check that throws does not); throws naming `what` after 30 s. */
const until = (what: string, check: () => Promise<boolean>) =>
  waitFor(
    what,
    () => check().catch(() => false),
    (ok) => ok,
    30_000,
    200,
  );

/** One multi-line reply of `redis-cli` (INFO, CLUSTER INFO, SENTINEL ...). */
async function cli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run("redis-cli", ["-h", "127.0.0.1", "-p", String(port), ...args], { timeout: 5_000 });
  return stdout;
}

/** A free port whose cluster bus port (port + 10000) is free too, both below the ephemeral range. */
async function freeClusterPort(): Promise<number> {
  for (;;) {
    const port = await freePortRun(1, "127.0.0.1", ephemeralPortStart() - 10_000);
    const bus = await redisCommand(port + 10_000, "PING", 200).then(
      () => false,
      (err: NodeJS.ErrnoException) => err.code === "ECONNREFUSED",
    );
    if (bus) return port;
  }
}

interface Topology {
  dir: string;
  servers: OwnRedis[];
  /** Kills every server this topology started (by pid) and removes its temp dir. */
  stop(): Promise<void>;
}

function topology(prefix: string): Topology {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const servers: OwnRedis[] = [];
  // A test process that dies before its afterAll must not leave servers behind.
  const onExit = () => servers.forEach((s) => s.killNow());
  process.once("exit", onExit);
  return {
    dir,
    servers,
    async stop() {
      process.off("exit", onExit);
      await Promise.all(servers.map((s) => s.kill()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One standalone `redis-server` of our own (the benchmark's, so its counters are the run's alone). */
export async function startLocalServer(): Promise<Topology> {
  const t = topology("oms-redis-");
  try {
    t.servers.push(new OwnRedis(await freePort(), t.dir));
    await t.servers[0]?.start();
    return t;
  } catch (err) {
    await t.stop();
    throw err;
  }
}

export interface LocalCluster extends Topology {
  /** `REDIS_CLUSTER_NODES` for the system: every node's host:port. */
  seeds: string;
  /** Ports of the current primaries, as the cluster reports them. */
  primaries(): Promise<number[]>;
  /** The port of the primary serving `key`'s slot, as the cluster reports it now. */
  primaryFor(key: string): Promise<number>;
  /** SIGKILLs a primary and waits until its replica took over and every slot is served. */
  failOver(port: number): Promise<void>;
  /**
   * SIGKILLs a primary and starts it again at once, empty (no persistence), its replica
   * told not to take over meanwhile: it keeps its slots and its replica resyncs from it,
   * so what they held is gone.
   */
  restartEmpty(port: number): Promise<void>;
}

/** Six `redis-server --cluster-enabled yes`, joined by `redis-cli --cluster create --cluster-replicas 1`. */
export async function startLocalCluster(nodeTimeoutMs = 1_500): Promise<LocalCluster> {
  const t = topology("oms-cluster-");
  try {
    for (let i = 0; i < 6; i++) {
      const port = await freeClusterPort();
      const server = new OwnRedis(port, join(t.dir, `node-${port}`), {
        extraArgs: [
          ...["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"],
          ...["--cluster-node-timeout", String(nodeTimeoutMs)],
          // A replica whose primary died must take over however stale it thinks it is.
          ...["--cluster-replica-validity-factor", "0"],
        ],
      });
      t.servers.push(server);
      await server.start();
    }
    const addresses = t.servers.map((s) => `127.0.0.1:${s.port}`);
    await run("redis-cli", ["--cluster", "create", ...addresses, "--cluster-replicas", "1", "--cluster-yes"], {
      timeout: 30_000,
    });
    const ports = t.servers.map((s) => s.port);
    const healthy = async (alive: number[]) =>
      (await Promise.all(alive.map((p) => cli(p, "cluster", "info")))).every((info) =>
        info.includes("cluster_state:ok"),
      );
    await until("the cluster to be ok on every node", () => healthy(ports));
    const dead = new Set<number>();
    const primaries = async () => {
      const alive = ports.filter((p) => !dead.has(p));
      const lines = (await cli(alive[0] ?? 0, "cluster", "nodes")).split("\n");
      return lines
        .filter((l) => / master /.test(l.replace("myself,", "")) && !l.includes("fail") && / connected /.test(l))
        .map((l) => Number(/:(\d+)@/.exec(l)?.[1]));
    };
    const primaryFor = async (key: string) => {
      const slot = calculateSlot(key);
      const alive = ports.filter((p) => !dead.has(p));
      for (const line of (await cli(alive[0] ?? 0, "cluster", "nodes")).split("\n")) {
        const fields = line.trim().split(" ");
        if (!/master/.test(fields[2] ?? "") || /fail/.test(fields[2] ?? "")) continue;
        // Slot fields are "n" or "from-to"; "[n->-id]" marks a slot moving, not served here yet.
        const serves = fields.slice(8).some((range) => {
          const [from, to = from] = range.split("-").map(Number);
          return from !== undefined && !Number.isNaN(from) && slot >= from && slot <= (to ?? from);
        });
        if (serves) return Number(/:(\d+)@/.exec(line)?.[1]);
      }
      throw new Error(`no primary serves slot ${slot} of ${key}`);
    };
    /** Ports of the live replicas of the primary on `port`. */
    const replicasOf = async (port: number) => {
      const alive = ports.filter((p) => !dead.has(p));
      const lines = (await cli(alive[0] ?? 0, "cluster", "nodes")).split("\n").map((l) => l.trim().split(" "));
      const id = lines.find((f) => f[1]?.startsWith(`127.0.0.1:${port}@`))?.[0];
      return lines
        .filter((f) => id !== undefined && f[3] === id && !/fail/.test(f[2] ?? ""))
        .map((f) => Number(/:(\d+)@/.exec(f[1] ?? "")?.[1]));
    };
    return {
      ...t,
      seeds: addresses.join(","),
      primaries,
      primaryFor,
      async restartEmpty(port) {
        const server = t.servers.find((s) => s.port === port);
        if (!server) throw new Error(`no node on port ${port}`);
        // Its replica must not take over while it is down, however long a busy machine keeps
        // it down: the fault is a primary coming back empty, not a failover.
        const replicas = await replicasOf(port);
        const noFailover = (value: "yes" | "no") =>
          Promise.all(replicas.map((r) => cli(r, "config", "set", "cluster-replica-no-failover", value)));
        await noFailover("yes");
        try {
          await server.restart(0);
          await until("the restarted node to serve its slots again", () => healthy(ports.filter((p) => !dead.has(p))));
        } finally {
          await noFailover("no");
        }
        if (!(await primaries()).includes(port)) throw new Error(`node ${port} lost its slots to its replica`);
      },
      async failOver(port) {
        const server = t.servers.find((s) => s.port === port);
        if (!server) throw new Error(`no node on port ${port}`);
        await server.kill();
        dead.add(port);
        const alive = ports.filter((p) => !dead.has(p));
        await until("a replica to take over and every slot to be served", async () => {
          if (!(await healthy(alive))) return false;
          return (await primaries()).length === 3;
        });
      },
    };
  } catch (err) {
    await t.stop();
    throw err;
  }
}

export interface LocalSentinel extends Topology {
  /** `REDIS_SENTINELS` for the system. */
  sentinels: string;
  /** The same, as ioredis takes them. */
  sentinelList: Array<{ host: string; port: number }>;
  name: string;
  /** The port the sentinels name as primary now. */
  primaryPort(): Promise<number>;
  /** SIGKILLs the primary and waits until the sentinels promoted the replica. */
  failOver(): Promise<number>;
}

/** A primary, its replica and three sentinels (quorum 2) watching it. */
export async function startLocalSentinel(name = "oms", downAfterMs = 1_000): Promise<LocalSentinel> {
  const t = topology("oms-sentinel-");
  try {
    const primary = new OwnRedis(await freePort(), join(t.dir, "primary"));
    t.servers.push(primary);
    await primary.start();
    const replica = new OwnRedis(await freePort(), join(t.dir, "replica"), {
      extraArgs: ["--replicaof", "127.0.0.1", String(primary.port)],
    });
    t.servers.push(replica);
    await replica.start();
    const sentinelPorts: number[] = [];
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const conf = join(t.dir, `sentinel-${port}.conf`);
      writeFileSync(
        conf,
        [
          `sentinel monitor ${name} 127.0.0.1 ${primary.port} 2`,
          `sentinel down-after-milliseconds ${name} ${downAfterMs}`,
          `sentinel failover-timeout ${name} 10000`,
          `sentinel parallel-syncs ${name} 1`,
          "",
        ].join("\n"),
      );
      const sentinel = new OwnRedis(port, join(t.dir, `sentinel-${port}`), {
        configFile: conf,
        extraArgs: ["--sentinel"],
      });
      t.servers.push(sentinel);
      await sentinel.start();
      sentinelPorts.push(port);
    }
    const primaryPort = async () => {
      const reply = await cli(sentinelPorts[0] ?? 0, "sentinel", "get-master-addr-by-name", name);
      return Number(reply.trim().split("\n")[1]);
    };
    await until("the sentinels to see the replica and each other", async () => {
      const seen = await Promise.all(
        sentinelPorts.map(async (p) => {
          const replicas = await cli(p, "sentinel", "replicas", name);
          const others = await cli(p, "sentinel", "sentinels", name);
          return replicas.includes(String(replica.port)) && (others.match(/^name$/gm) ?? []).length === 2;
        }),
      );
      return seen.every(Boolean);
    });
    await until("the replica to be in sync", async () =>
      (await cli(replica.port, "info", "replication")).includes("master_link_status:up"),
    );
    return {
      ...t,
      name,
      sentinels: sentinelPorts.map((p) => `127.0.0.1:${p}`).join(","),
      sentinelList: sentinelPorts.map((port) => ({ host: "127.0.0.1", port })),
      primaryPort,
      async failOver() {
        const before = await primaryPort();
        await t.servers.find((s) => s.port === before)?.kill();
        await until("the sentinels to promote the replica", async () => (await primaryPort()) !== before);
        const after = await primaryPort();
        await until("the new primary to accept writes", async () =>
          (await cli(after, "info", "replication")).includes("role:master"),
        );
        return after;
      },
    };
  } catch (err) {
    await t.stop();
    throw err;
  }
}
