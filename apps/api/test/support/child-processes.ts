/**
 * Child processes a test starts, with their output kept (not a test file itself): each is
 * killed in the file's cleanups if still running; and a plain TCP connection attempt.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { connect } from "node:net";
import { fileURLToPath } from "node:url";
import { cleanups } from "./health-system";

const ROOT = fileURLToPath(new URL("../../../../", import.meta.url));

/** Resolves with the connection error's code, or "connected" when something accepted the connection. */
export function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: "127.0.0.1" });
    socket.once("connect", () => {
      socket.destroy();
      resolve("connected");
    });
    socket.once("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

/** A child process whose output is kept, one line per entry. */
export interface Child {
  child: ChildProcess;
  lines: string[];
  exited: Promise<number | null>;
}

export function spawnChild(command: string, args: string[], childEnv: Record<string, string>): Child {
  const child = spawn(command, args, { cwd: ROOT, env: childEnv, stdio: ["ignore", "pipe", "pipe"] });
  const lines: string[] = [];
  const keep = (chunk: Buffer) => lines.push(...chunk.toString().split("\n").filter(Boolean));
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
  });
  return { child, lines, exited };
}

/** The JSON log records among a process's output lines. */
export function logRecords(lines: string[]): Array<Record<string, unknown>> {
  return lines.flatMap((line) => {
    try {
      const v = JSON.parse(line) as unknown;
      return v && typeof v === "object" ? [v as Record<string, unknown>] : [];
    } catch {
      return [];
    }
  });
}
