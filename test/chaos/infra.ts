/**
 * The chaos suite's own servers: a redis-server it can kill and restart empty, and a
 * TCP proxy in front of the shared MariaDB that it can cut. Both listen on their own
 * ports; nothing here touches the shared Redis (6379) or stops the shared MariaDB.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, openSync, closeSync, rmSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Kept here too for the chaos modules that import it with the servers below. */
export { freePort } from "@oms/shared";

/** Sends one inline command and resolves with the first reply line (or rejects). */
export function redisCommand(port: number, command: string, timeoutMs = 1_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    let data = "";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error("timeout"));
    }, timeoutMs);
    socket.on("connect", () => socket.write(`${command}\r\n`));
    socket.on("data", (chunk) => {
      data += chunk.toString();
      if (data.includes("\r\n")) {
        clearTimeout(timer);
        socket.destroy();
        resolve(data.split("\r\n")[0] ?? "");
      }
    });
    socket.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/**
 * A redis-server of our own, without persistence: a restart comes back empty.
 * `extraArgs` add settings (cluster mode, replication); with `configFile` it is
 * started from that file (a sentinel needs one it can rewrite).
 */
export class OwnRedis {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  restarts = 0;

  constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly options: { extraArgs?: string[]; configFile?: string } = {},
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    const log = openSync(join(this.dir, "redis.log"), "a");
    const child = spawn(
      "redis-server",
      [
        ...(this.options.configFile ? [this.options.configFile] : []),
        "--port",
        String(this.port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        this.dir,
        "--daemonize",
        "no",
        ...(this.options.extraArgs ?? []),
      ],
      { stdio: ["ignore", log, log] },
    );
    closeSync(log);
    this.child = child;
    this.exited = new Promise((resolve) => child.once("exit", () => resolve()));
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`redis-server on port ${this.port} exited (see ${this.dir})`);
      try {
        if ((await redisCommand(this.port, "PING")) === "+PONG") return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`redis-server on port ${this.port} did not answer PING in 10 s`);
      await sleep(50);
    }
  }

  /** SIGKILL: everything it held is gone. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGKILL");
    await this.exited;
  }

  /** Kill, stay down for `downMs`, start again on the same port, empty. */
  async restart(downMs: number): Promise<void> {
    await this.kill();
    // A replica keeps the RDB of its last full sync even with saving off, and loads it
    // at start: a promoted replica restarted "empty" came back with that old data.
    rmSync(join(this.dir, "dump.rdb"), { force: true });
    await sleep(downMs);
    await this.start();
    this.restarts++;
  }

  /** Synchronous best effort, for process exit handlers. */
  killNow(): void {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGKILL");
  }
}

export type CutMode = "refuse" | "blackhole";

/**
 * A TCP proxy in front of MySQL. `cut(ms)` destroys every connection through it and,
 * for `ms`, either resets new connections at once ("refuse") or accepts them and
 * never answers ("blackhole": the client's connect timeout fires), then lets traffic
 * through again. The upstream server is never touched beyond its connections.
 */
export class CuttableProxy {
  private server: net.Server | undefined;
  private readonly pairs = new Set<[net.Socket, net.Socket | undefined]>();
  private readonly held = new Set<net.Socket>();
  private cutUntil = 0;
  private mode: CutMode = "refuse";
  port = 0;
  connections = 0;
  cuts = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async listen(port = 0): Promise<number> {
    const server = net.createServer((client) => this.accept(client));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve());
    });
    const address = server.address();
    this.port = typeof address === "object" && address ? address.port : port;
    return this.port;
  }

  get isCut(): boolean {
    return Date.now() < this.cutUntil;
  }

  private accept(client: net.Socket): void {
    client.on("error", () => undefined);
    if (this.isCut) {
      if (this.mode === "refuse") {
        client.resetAndDestroy();
      } else {
        this.held.add(client);
        client.once("close", () => this.held.delete(client));
      }
      return;
    }
    this.connections++;
    const upstream = net.connect(this.targetPort, this.targetHost);
    upstream.on("error", () => undefined);
    const pair: [net.Socket, net.Socket | undefined] = [client, upstream];
    this.pairs.add(pair);
    const end = () => {
      client.destroy();
      upstream.destroy();
      this.pairs.delete(pair);
    };
    client.once("close", end);
    upstream.once("close", end);
    client.pipe(upstream);
    upstream.pipe(client);
  }

  /** Drops every connection and keeps MySQL unreachable for `ms`. */
  async cut(ms: number, mode: CutMode): Promise<void> {
    this.cuts++;
    this.mode = mode;
    this.cutUntil = Date.now() + ms;
    for (const [client, upstream] of [...this.pairs]) {
      client.resetAndDestroy();
      upstream?.destroy();
    }
    this.pairs.clear();
    await sleep(ms);
    this.cutUntil = 0;
    for (const socket of [...this.held]) socket.destroy();
    this.held.clear();
  }

  async close(): Promise<void> {
    this.cutUntil = 0;
    for (const [client, upstream] of [...this.pairs]) {
      client.destroy();
      upstream?.destroy();
    }
    for (const socket of this.held) socket.destroy();
    const server = this.server;
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }
}
