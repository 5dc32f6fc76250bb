/**
 * The system a chaos run starts, all of it its own: a Redis (one server or a Cluster),
 * a MariaDB server (or the shared one) behind a cuttable proxy, a fresh database, the
 * API, the harness's connections and queues, and every process it spawns. The shared
 * Redis and MariaDB are never stopped or flushed.
 */
import { QueueEvents, type Queue } from "bullmq";
import {
  QUEUE_NAMES,
  createDb,
  createLogger,
  createQueue,
  createRedis,
  keyspace,
  type Keyspace,
  type Knex,
  type RedisClient,
} from "@oms/shared";
import { migrateLatest } from "@oms/migrations";
import { HttpClient } from "./http-client";
import { CuttableProxy, freePort } from "./infra";
import { OwnMysql, findMariadbd } from "./mysql";
import { spawnService, type ServiceProcess, type SpawnOptions } from "./processes";
import { CLUSTER_SHARDS, startChaosRedis, type ChaosRedis } from "./redis-faults";
import type { Timeline } from "./timeline";

/** The shared MariaDB the proxy forwards to (and the checks read directly). */
export const MYSQL_HOST = process.env.CHAOS_MYSQL_HOST ?? "127.0.0.1";
export const MYSQL_PORT = Number(process.env.CHAOS_MYSQL_PORT ?? 3306);

export interface SystemNames {
  /** The run's id: seed and salt. */
  id: string;
  cluster: boolean;
  logDir: string;
  adminToken: string;
}

export class ChaosSystem {
  readonly prefix: string;
  readonly database: string;
  readonly keys: Keyspace;
  readonly adminToken: string;
  /** Set once the run winds down: nothing is restarted from then on. */
  stopping = false;
  redisDeployment?: ChaosRedis;
  mysqlServer?: OwnMysql;
  proxy?: CuttableProxy;
  apiPort = 0;
  http?: HttpClient;
  checkoutQueue?: Queue;
  inventoryQueue?: Queue;
  private direct?: Knex;
  private monitor?: RedisClient;
  private queueConnection?: RedisClient;
  private events?: QueueEvents;
  private eventsConnection?: RedisClient;
  /** Every process this run spawned, so clean-up also stops one still starting. */
  private readonly spawned = new Set<ServiceProcess>();

  constructor(
    private readonly names: SystemNames,
    private readonly timeline: Timeline,
  ) {
    this.prefix = `chaos${names.id}`.slice(0, 40);
    this.database = `oms_chaos_${names.id}`;
    this.keys = keyspace(this.prefix, names.cluster ? CLUSTER_SHARDS : 1);
    this.adminToken = names.adminToken;
  }

  /** The settings the API and every worker process run with. */
  env(): Record<string, string> {
    const proxyPort = this.proxy?.port ?? 0;
    return {
      NODE_ENV: "test",
      HOST: "127.0.0.1",
      PORT: String(this.apiPort),
      ...this.redisDeployment?.env,
      REDIS_PREFIX: this.prefix,
      DATABASE_URL: `mysql://root@127.0.0.1:${proxyPort}/${this.database}`,
      DB_POOL_MAX: "8",
      LOG_LEVEL: "info",
      CART_TIMEOUT_MS: "5000",
      CHECKOUT_TIMEOUT_MS: "5000",
      HOLD_TTL_MS: "4000",
      HOLD_SWEEP_INTERVAL_MS: "500",
      FLUSH_INTERVAL_MS: "1000",
      RECONCILE_INTERVAL_MS: "5000",
      REFUND_SWEEP_AFTER_MS: "3000",
      CHECKOUT_LOCK_TTL_MS: "60000",
      JOB_ATTEMPTS: "6",
      JOB_BACKOFF_MS: "400",
      // A killed worker's jobs come back in seconds, not the 30-45 s of the defaults.
      JOB_LOCK_MS: "5000",
      STALLED_CHECK_MS: "2500",
      SHUTDOWN_GRACE_MS: "2000",
      PAYMENT_SIM_LATENCY_MS: "20",
      PAYMENT_SIM_TRANSIENT_FAILURES: "2",
      WORKER_CONCURRENCY_CART: "10",
      WORKER_CONCURRENCY_CHECKOUT: "10",
      WORKER_STALL_ALERT_MS: "5000",
      RATE_LIMIT_PER_MINUTE: "0",
      METRICS_PORT: "0",
      SEED_ON_START: "false",
      ADMIN_TOKEN: this.adminToken,
    };
  }

  /** Redis, MySQL, the schema, the harness's connections, then the API. */
  async start(): Promise<void> {
    const { cluster, logDir } = this.names;
    this.redisDeployment = await startChaosRedis(cluster, logDir);
    const redisTarget = this.redisDeployment.target;
    const mariadbd = findMariadbd();
    let [mysqlHost, mysqlPort] = [MYSQL_HOST, MYSQL_PORT];
    if (mariadbd && process.env.CHAOS_OWN_MYSQL !== "0") {
      // Our own server, so it can crash; the shared one is only ever cut at the proxy.
      this.mysqlServer = new OwnMysql(mariadbd, await freePort(), logDir);
      await this.mysqlServer.install();
      await this.mysqlServer.start();
      [mysqlHost, mysqlPort] = ["127.0.0.1", this.mysqlServer.port];
    } else {
      this.timeline.notes.push(
        "no MariaDB server binary here (or CHAOS_OWN_MYSQL=0): MySQL is only cut, never crashed",
      );
    }
    this.proxy = new CuttableProxy(mysqlHost, mysqlPort);
    await this.proxy.listen();
    this.apiPort = await freePort();

    const directUrl = `mysql://root@${mysqlHost}:${mysqlPort}/${this.database}`;
    this.direct = createDb(directUrl, 4, false);
    await this.direct.raw(
      `CREATE DATABASE IF NOT EXISTS \`${this.database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`,
    );
    await this.direct.destroy();
    // The harness's own reads ride out the MySQL crash too: their reconnect warnings are not news.
    this.direct = createDb(directUrl, 4, true, { logger: createLogger("error", "chaos-db") });
    // The release step, as in production: the processes only check that the schema is current.
    await migrateLatest(this.direct);

    this.monitor = createRedis(redisTarget, { forQueue: true, name: "chaos-monitor" });
    this.queueConnection = createRedis(redisTarget, { forQueue: true, name: "chaos-queues" });
    const jobConfig = { JOB_ATTEMPTS: 6, JOB_BACKOFF_MS: 400, CART_REPLAY_RETENTION_MS: 3_600_000 };
    this.checkoutQueue = createQueue("checkout", this.queueConnection, this.keys, jobConfig);
    this.inventoryQueue = createQueue("inventory", this.queueConnection, this.keys, jobConfig);
    // Without listeners BullMQ prints every connection error while Redis is down.
    this.checkoutQueue.on("error", () => undefined);
    this.inventoryQueue.on("error", () => undefined);
    this.eventsConnection = createRedis(redisTarget, { forQueue: true, name: "chaos-events" });
    this.events = new QueueEvents(QUEUE_NAMES.checkout, {
      connection: this.eventsConnection,
      prefix: this.keys.queuePrefix("checkout"),
    });
    this.events.on("error", () => undefined);
    this.events.on("stalled", ({ jobId }) => this.timeline.stalled(jobId));

    const api = await this.spawn("api", "apps/api/src/main.ts", this.env());
    void api.exited.then((info) => {
      if (!this.stopping)
        this.timeline.notes.push(`the API process exited during the run (${info.code ?? info.signal})`);
    });
    this.http = new HttpClient(`http://127.0.0.1:${this.apiPort}`);
  }

  /** Starts a service of the system, logging beside the run's other logs, and tracks it for clean-up. */
  spawn(name: string, script: SpawnOptions["script"], env: Record<string, string>): Promise<ServiceProcess> {
    return spawnService({
      name,
      script,
      env,
      logDir: this.names.logDir,
      readyTimeoutMs: 90_000,
      onSpawn: (p) => this.spawned.add(p),
    });
  }

  db(): Knex {
    if (!this.direct) throw new Error("no direct MySQL connection");
    return this.direct;
  }

  redis(): RedisClient {
    if (!this.monitor) throw new Error("no Redis connection");
    return this.monitor;
  }

  /** The set-up log line's figures. */
  describe(): string {
    return `api :${this.apiPort}, ${this.redisDeployment?.label}, mysql proxy :${this.proxy?.port}${this.mysqlServer ? ` -> own mariadbd :${this.mysqlServer.port}` : ""}`;
  }

  /** Synchronous best effort, for the process's exit hook. */
  killNow(): void {
    this.stopping = true;
    for (const proc of this.spawned) proc.kill("SIGKILL");
    this.redisDeployment?.killNow();
    this.mysqlServer?.removeNow();
  }

  async stopProcesses(): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.spawned].map((p) => p.stop(1_000)));
  }

  /** Closes the harness's connections and stops Redis and MySQL; the processes must be stopped first. */
  async close(): Promise<void> {
    this.http?.close();
    await this.events?.close().catch(() => undefined);
    await this.checkoutQueue?.close().catch(() => undefined);
    await this.inventoryQueue?.close().catch(() => undefined);
    this.queueConnection?.disconnect();
    this.eventsConnection?.disconnect();
    this.monitor?.disconnect();
    await this.proxy?.close();
    await this.redisDeployment?.stop();
    if (this.direct) {
      if (!this.mysqlServer)
        await this.direct.raw(`DROP DATABASE IF EXISTS \`${this.database}\``).catch(() => undefined);
      await this.direct.destroy();
    }
    await this.mysqlServer?.destroy();
  }
}
