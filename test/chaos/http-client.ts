/** The harness's HTTP client: keep-alive, JSON both ways, counting requests and network errors. */
import http from "node:http";

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
