/**
 * Tracing across the queue: one trace per request, from the API's handler through the
 * BullMQ job (bullmq-otel carries the context in the job) to the worker's saga steps and
 * their Redis and MySQL calls. Exported over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT
 * is set; otherwise nothing is registered and every helper here runs the work directly.
 */
import { context, propagation, SpanKind, SpanStatusCode, trace, type Attributes, type Span } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { BullMQOtel } from "bullmq-otel";
import { errorMessage } from "./parse";

const TRACER = "oms";
let provider: NodeTracerProvider | undefined;

/** Starts exporting this process's spans to `endpoint` (an OTLP/HTTP base URL); no-op without one. */
export function startTracing(service: string, endpoint: string | undefined): void {
  if (!endpoint || provider) return;
  const url = `${endpoint.replace(/\/+$/, "")}/v1/traces`;
  provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ "service.name": service }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url }), { scheduledDelayMillis: 500 })],
  });
  // The AsyncLocalStorage context manager and W3C propagation, as global defaults.
  provider.register();
}

/** Sends what is buffered and stops; a process calls this as it exits. */
export async function stopTracing(): Promise<void> {
  const current = provider;
  provider = undefined;
  await current?.shutdown();
}

/** Sends what is buffered now (tests read the receiver right after). */
export async function flushTracing(): Promise<void> {
  await provider?.forceFlush();
}

export function tracingEnabled(): boolean {
  return provider !== undefined;
}

/** BullMQ's telemetry for a Queue or Worker: the job carries its trace; undefined when tracing is off. */
export function queueTelemetry(): BullMQOtel | undefined {
  return provider ? new BullMQOtel({ tracerName: TRACER }) : undefined;
}

/** Runs `work` inside a span of its own (a child of the active one); ends it, recording a throw. */
export async function traced<T>(
  name: string,
  attributes: Attributes,
  work: (span: Span | undefined) => Promise<T>,
  kind: SpanKind = SpanKind.INTERNAL,
): Promise<T> {
  if (!provider) return work(undefined);
  return trace.getTracer(TRACER).startActiveSpan(name, { kind, attributes }, async (span) => {
    try {
      return await work(span);
    } catch (err) {
      span.recordException(err instanceof Error ? err : String(err));
      span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(err) });
      throw err;
    } finally {
      span.end();
    }
  });
}

/** The span of one HTTP request, ended when its answer is sent. */
export interface ServerSpan {
  end(route: string, status: number): void;
}

/**
 * Starts the span of an HTTP request (continuing a caller's trace from its `traceparent`
 * header) and calls `next` inside it, so everything the handler does (the job it adds)
 * belongs to this trace. Undefined, and `next` called plainly, when tracing is off.
 */
export function startServerSpan(
  method: string,
  headers: Record<string, string | string[] | undefined>,
  next: () => void,
): ServerSpan | undefined {
  if (!provider) {
    next();
    return undefined;
  }
  const parent = propagation.extract(context.active(), headers);
  const span = trace
    .getTracer(TRACER)
    .startSpan(method, { kind: SpanKind.SERVER, attributes: { "http.request.method": method } }, parent);
  context.with(trace.setSpan(parent, span), next);
  return {
    end(route, status) {
      span.updateName(`${method} ${route}`);
      span.setAttributes({ "http.route": route, "http.response.status_code": status });
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    },
  };
}

/** A span for time that already passed (a job's wait in its queue), under the active span. */
export function recordSpan(name: string, startMs: number, endMs: number, attributes: Attributes): void {
  if (!provider || endMs < startMs) return;
  trace.getTracer(TRACER).startSpan(name, { startTime: startMs, attributes }).end(endMs);
}

/** Ids of the active span, for log lines (empty when tracing is off or no span is active). */
export function traceFields(): { traceId?: string; spanId?: string } {
  if (!provider) return {};
  const context = trace.getActiveSpan()?.spanContext();
  return context ? { traceId: context.traceId, spanId: context.spanId } : {};
}

export { SpanKind };
