/**
 * The requests of the fuzz suites and what every property asserts of an answer (not a test
 * file itself). Every generated request is invalid by construction, and `check` asserts:
 * a 4xx (never a 5xx), an answer within REQUEST_TIMEOUT_MS, a JSON body {status: "Failed",
 * error} with no stack trace or file path, an error that names the wrong field (and does
 * not call a field that was sent "required"), no polluted Object.prototype, and no change
 * to MySQL or the stock cache across the run.
 *
 * Requests go through node:http, not fetch: fetch would normalise `..` segments, refuse
 * some headers and always pick a content type.
 */
import { request, type OutgoingHttpHeaders } from "node:http";
import { fileURLToPath } from "node:url";
import fc, { type Arbitrary } from "fast-check";
import { expect } from "vitest";
import { port, RUNS, SEED, unchanged } from "./fuzz-system";

/** A request without an answer by then is a hang, and fails the property. */
const REQUEST_TIMEOUT_MS = 10_000;
const ROOT = fileURLToPath(new URL("../../../../", import.meta.url));

export type Headers = Record<string, string | string[]>;

/** What the API must answer. */
export interface Verdict {
  label: string;
  status: readonly number[];
  /** Each must match the error message: the field or problem it names. */
  mentions: readonly RegExp[];
  /** Fields that were sent but are wrong: the message must not call them "required". */
  present?: readonly string[];
}

export interface FuzzRequest extends Verdict {
  method: string;
  /** Sent as is (already percent-encoded). */
  path: string;
  headers: Headers;
  body?: string | Buffer;
  /** Send the body with Transfer-Encoding: chunked (no Content-Length). */
  chunked?: boolean;
}

interface RawResponse {
  status: number;
  contentType: string;
  text: string;
}

export function send(r: Pick<FuzzRequest, "method" | "path" | "headers" | "body" | "chunked">): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const headers: OutgoingHttpHeaders = { ...r.headers };
    if (r.chunked) headers["transfer-encoding"] = "chunked";
    // Node's client sends a GET/DELETE/OPTIONS body with neither Content-Length nor chunking.
    else if (r.body !== undefined) headers["content-length"] = String(Buffer.byteLength(r.body));
    const req = request({ host: "127.0.0.1", port, method: r.method, path: r.path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        clearTimeout(timer);
        resolve({
          status: res.statusCode ?? 0,
          contentType: String(res.headers["content-type"] ?? ""),
          text: Buffer.concat(chunks).toString("utf8"),
        });
      });
      res.on("error", reject);
    });
    const timer = setTimeout(
      () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms: a hang`)),
      REQUEST_TIMEOUT_MS,
    );
    req.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    if (r.chunked && r.body !== undefined) {
      const body = Buffer.from(r.body);
      for (let i = 0; i < body.length; i += 4096) req.write(body.subarray(i, i + 4096));
      req.end();
    } else {
      req.end(r.body);
    }
  });
}

/** Server internals that must never reach a client: stack frames, file paths. */
export const LEAK = new RegExp(
  [
    String.raw`\n\s+at\s`,
    String.raw`\bat [\w$.<>]+ \(`,
    "node_modules",
    "node:internal",
    ROOT.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"),
    String.raw`\.[cm]?[jt]s:\d+:\d+`,
  ].join("|"),
);

const PROTOTYPE_KEYS = Object.getOwnPropertyNames(Object.prototype).sort().join(",");

export function parseBody(res: RawResponse, where: string): Record<string, unknown> {
  expect(res.contentType, `${where}: content type`).toMatch(/^application\/json/);
  let body: unknown;
  try {
    body = JSON.parse(res.text);
  } catch {
    throw new Error(`${where}: the body is not JSON: ${res.text.slice(0, 200)}`);
  }
  expect(body !== null && typeof body === "object" && !Array.isArray(body), `${where}: a JSON object`).toBe(true);
  return body as Record<string, unknown>;
}

export function expectNoPollution(where: string): void {
  expect(Object.getOwnPropertyNames(Object.prototype).sort().join(","), `${where}: Object.prototype`).toBe(
    PROTOTYPE_KEYS,
  );
  expect(({} as Record<string, unknown>).polluted, `${where}: Object.prototype.polluted`).toBeUndefined();
}

function describeRequest(r: FuzzRequest): string {
  const body = r.body === undefined ? "" : ` body(${Buffer.byteLength(r.body)} B)=${String(r.body).slice(0, 120)}`;
  return `[${r.label}] ${r.method} ${r.path.slice(0, 160)} ${JSON.stringify(r.headers).slice(0, 200)}${body}`;
}

/** Sends an invalid request and checks the answer against its verdict. */
async function expectRejected(r: FuzzRequest): Promise<void> {
  const where = describeRequest(r);
  const res = await send(r);
  expect(res.status, `${where}: ${res.text.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
  expect(res.status, `${where}: ${res.text.slice(0, 200)}`).toBeLessThan(500);
  expect(r.status, `${where}: status ${res.status}: ${res.text.slice(0, 200)}`).toContain(res.status);
  const body = parseBody(res, where);
  expect(body.status, where).toBe("Failed");
  expect(typeof body.error === "string" && body.error.trim().length > 0, `${where}: a non-empty error`).toBe(true);
  const error = String(body.error);
  expect(res.text, `${where}: leaks internals`).not.toMatch(LEAK);
  for (const mention of r.mentions) expect(error, `${where}: names the problem`).toMatch(mention);
  for (const field of r.present ?? []) {
    expect(error, `${where}: ${field} was sent, so it is not missing`).not.toMatch(
      new RegExp(String.raw`(^|; )${field} is required`),
    );
  }
  expectNoPollution(where);
}

export async function check(arbitrary: Arbitrary<FuzzRequest>, numRuns = RUNS): Promise<void> {
  await unchanged(() =>
    fc.assert(
      fc.asyncProperty(arbitrary, (r) => expectRejected(r)),
      { seed: SEED, numRuns, interruptAfterTimeLimit: 40_000, markInterruptAsFailure: true },
    ),
  );
}
