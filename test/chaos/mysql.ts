/**
 * A MariaDB server of the chaos run's own, so the run can SIGKILL it and make it go
 * through InnoDB crash recovery on restart without touching the shared server on 3306.
 * Its data directory is a fresh `mariadb-install-db` under $TMPDIR, removed at the end.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sleep } from "./infra";

const SERVER_CANDIDATES = ["/usr/sbin/mariadbd", "/usr/sbin/mysqld", "/usr/bin/mariadbd"];

/** The server binary, or undefined when this machine has no MariaDB server to start. */
export function findMariadbd(): string | undefined {
  const fromEnv = process.env.CHAOS_MARIADBD;
  if (fromEnv) return existsSync(fromEnv) ? fromEnv : undefined;
  return SERVER_CANDIDATES.find((p) => existsSync(p));
}

/** Resolves once the server sends its handshake: InnoDB recovery is over and it takes clients. */
function greets(port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once("data", () => done(true));
    socket.once("error", () => done(false));
    socket.once("close", () => done(false));
  });
}

export class OwnMysql {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private readonly dataRoot: string;
  crashes = 0;

  constructor(
    private readonly binary: string,
    readonly port: number,
    /** Where its error log goes (the run's log folder). */
    private readonly logDir: string,
  ) {
    this.dataRoot = mkdtempSync(join(tmpdir(), "oms-chaos-mariadb-"));
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Small files and no binlog: the server starts in well under a second on this kind of machine. */
  private serverArgs(): string[] {
    return [
      "--no-defaults",
      `--datadir=${join(this.dataRoot, "data")}`,
      `--socket=${join(this.dataRoot, "mysqld.sock")}`,
      `--pid-file=${join(this.dataRoot, "mysqld.pid")}`,
      "--user=root",
      "--skip-log-bin",
      "--innodb-buffer-pool-size=64M",
      "--innodb-log-file-size=16M",
      "--max-connections=400",
    ];
  }

  async install(): Promise<void> {
    const result = spawnSync(
      "mariadb-install-db",
      [...this.serverArgs(), "--auth-root-authentication-method=normal", "--skip-test-db"],
      { encoding: "utf8" },
    );
    if (result.status !== 0)
      throw new Error(`mariadb-install-db failed (${result.status}): ${(result.stdout + result.stderr).slice(-600)}`);
  }

  async start(): Promise<void> {
    const log = openSync(join(this.logDir, "mariadb.log"), "a");
    const child = spawn(
      this.binary,
      [
        ...this.serverArgs(),
        `--port=${this.port}`,
        "--bind-address=127.0.0.1",
        `--log-error=${join(this.logDir, "mariadb.err")}`,
      ],
      { stdio: ["ignore", log, log] },
    );
    closeSync(log);
    this.child = child;
    this.exited = new Promise((resolve) => child.once("exit", () => resolve()));
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`mariadbd on port ${this.port} exited (see ${this.logDir}/mariadb.err)`);
      if (await greets(this.port)) return;
      if (Date.now() > deadline) throw new Error(`mariadbd on port ${this.port} did not take clients in 60 s`);
      await sleep(50);
    }
  }

  /** SIGKILL: no shutdown, so the next start runs InnoDB crash recovery. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGKILL");
    await this.exited;
  }

  /** Crash, stay down for `downMs`, start again on the same data. */
  async crash(downMs: number): Promise<void> {
    await this.kill();
    this.crashes++;
    await sleep(downMs);
    await this.start();
  }

  /** Synchronous best effort, for process exit handlers. */
  killNow(): void {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGKILL");
  }

  /** Synchronous, for process exit handlers: kill it and remove its data. */
  removeNow(): void {
    this.killNow();
    rmSync(this.dataRoot, { recursive: true, force: true });
  }

  async destroy(): Promise<void> {
    await this.kill();
    rmSync(this.dataRoot, { recursive: true, force: true });
  }
}
