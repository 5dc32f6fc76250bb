/** The harness's HTTP client: keep-alive, JSON both ways, counting requests and network errors. */
import http from "node:http";
import type { Random } from "./prng";

/** Answers a client tries again after: throttled, or the server (or what it needs) failing. */
export const RETRYABLE = new Set([429, 500, 502, 503, 504]);

/** Exponential back-off from 200 ms, capped at 3 s, with jitter so retries do not march in step. */
export function backoff(rng: Random, attempt: number): number {
  return Math.min(200 * 2 ** attempt, 3_000) * rng.between(0.5, 1);
}

export interface HttpAnswer {
  status: number;
  body: Record<string, unknown>;
  headers: http.IncomingHttpHeaders;
}

export class HttpClient {
  readonly agent = new http.Agent({ keepAlive: true, maxSockets: 96, keepAliveMsecs: 1_000 });
  requests = 0;
  networkErrors = 0;

  constructor(readonly baseUrl: string) {}

  /** One request; throws on a network error or timeout (never on an HTTP status). */
  request(
    method: "GET" | "POST",
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
    timeoutMs = 30_000,
  ): Promise<HttpAnswer> {
    this.requests++;
    const url = new URL(path, this.baseUrl);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise<HttpAnswer>((resolve, reject) => {
      const req = http.request(
        url,
        {
          method,
          agent: this.agent,
          headers: {
            ...(payload === undefined
              ? {}
              : { "content-type": "application/json", "content-length": Buffer.byteLength(payload) }),
            ...headers,
          },
          timeout: timeoutMs,
        },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => (text += chunk));
          res.on("end", () => {
            let parsed: Record<string, unknown> = {};
            try {
              const value: unknown = JSON.parse(text);
              if (value && typeof value === "object") parsed = value as Record<string, unknown>;
            } catch {
              parsed = { unparsed: text.slice(0, 200) };
            }
            resolve({ status: res.statusCode ?? 0, body: parsed, headers: res.headers });
          });
          res.on("error", reject);
        },
      );
      req.on("timeout", () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
      req.on("error", (err) => {
        this.networkErrors++;
        reject(err);
      });
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
