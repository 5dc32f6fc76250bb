/**
 * One trace per request across the queue (issue 13 item 11): the API process and a
 * separate worker process both export to a local OTLP/HTTP receiver; a checkout yields
 * one trace whose spans cover the HTTP request, the job's add and its wait in the queue,
 * the worker's processing, the saga's steps and their MySQL writes.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { flushTracing, startTracing, stopTracing, traced, traceFields } from "@oms/shared";
import { createTestEnv, insertProducts, type TestEnv } from "../../../test/support/env";
import {
  postJson,
  spawnWorkerProcess,
  startApi,
  type RunningApi,
  type WorkerProcess,
} from "../../../test/support/system";
import { eventually } from "../../../test/support/invariants";

interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  service: string;
}

let env: TestEnv;
let api: RunningApi;
let worker: WorkerProcess;
let receiver: Server;
const spans: ReceivedSpan[] = [];

/** An OTLP/HTTP trace receiver (JSON encoding, as the exporter sends it). */
async function startReceiver(): Promise<string> {
  receiver = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString()));
    req.on("end", () => {
      if (req.url === "/v1/traces") collect(JSON.parse(body) as OtlpBody);
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
}

interface OtlpBody {
  resourceSpans?: Array<{
    resource?: { attributes?: Array<{ key: string; value: { stringValue?: string } }> };
    scopeSpans?: Array<{ spans?: Array<Omit<ReceivedSpan, "service">> }>;
  }>;
}

function collect(body: OtlpBody): void {
  for (const rs of body.resourceSpans ?? []) {
    const service = rs.resource?.attributes?.find((a) => a.key === "service.name")?.value.stringValue ?? "";
    for (const ss of rs.scopeSpans ?? []) for (const span of ss.spans ?? []) spans.push({ ...span, service });
  }
}

beforeAll(async () => {
  const endpoint = await startReceiver();
  env = await createTestEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint });
  // This process plays the API: tracing starts before its queues exist, as main.ts does it.
  startTracing("oms-api", endpoint);
  api = await startApi(env);
  worker = await spawnWorkerProcess(env, { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint });
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  await api?.close();
  await stopTracing();
  await env?.close();
  await new Promise((r) => receiver?.close(r));
});

it("a checkout is one trace from the HTTP request through the queue to the saga's steps", async () => {
  const clientID = `trace-${randomUUID().slice(0, 8)}`;
  const productID = `trace-p-${randomUUID().slice(0, 8)}`;
  await insertProducts(env.db, [{ id: productID, quantity: 5, priceCents: 300 }]);
  expect((await postJson(`${api.url}/addToCart`, { clientID, productID, quantity: 1 })).status).toBe(200);
  const res = await postJson(`${api.url}/checkOutCart`, { clientID, paymentToken: "tok_ok" });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  await flushTracing();

  const request = await eventually("the checkout request's span", async () =>
    spans.find((s) => s.name === "POST /checkOutCart" && s.service === "oms-api"),
  );
  const trace = await eventually(
    "the worker's spans of the same trace",
    async () => {
      const inTrace = spans.filter((s) => s.traceId === request.traceId);
      return inTrace.some((s) => s.name === "saga step finished") ? inTrace : undefined;
    },
    15_000,
    100,
  );
  const names = new Set(trace.map((s) => `${s.service}: ${s.name}`));
  for (const expected of [
    "oms-api: POST /checkOutCart",
    "oms-workers: queue wait",
    "oms-workers: saga step created",
    "oms-workers: saga step reserved",
    "oms-workers: saga step charged",
    "oms-workers: saga step committed",
    "oms-workers: saga step finished",
    "oms-workers: mysql group commit createPendingOrders",
  ])
    expect(names, [...names].join("\n")).toContain(expected);
  // BullMQ's own spans: the add in the API, the processing in the worker.
  expect(trace.some((s) => s.service === "oms-api" && /add/i.test(s.name))).toBe(true);
  expect(trace.some((s) => s.service === "oms-workers" && /process/i.test(s.name))).toBe(true);
  // One tree: every span but the request's has its parent in the trace.
  const ids = new Set(trace.map((s) => s.spanId));
  const roots = trace.filter((s) => !s.parentSpanId || !ids.has(s.parentSpanId));
  expect(roots.map((s) => s.name)).toEqual(["POST /checkOutCart"]);
  // The other add-to-cart request is a trace of its own.
  expect(spans.filter((s) => s.name === "POST /addToCart")[0]?.traceId).not.toBe(request.traceId);
});

it("log lines written inside a span carry its trace id", async () => {
  const outside = traceFields();
  const inside = await traced("a unit of work", {}, async (span) => ({ fields: traceFields(), span }));
  expect(outside).toEqual({});
  expect(inside.fields.traceId).toBe(inside.span?.spanContext().traceId);
  expect(inside.fields.traceId).toMatch(/^[0-9a-f]{32}$/);
});
