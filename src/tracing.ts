/**
 * OpenTelemetry traces, on when OTEL_EXPORTER_OTLP_ENDPOINT is set: a span per publish (a child of
 * the caller's: the API request's `traceparent`, or the library caller's active context) and per
 * delivery attempt (a child of its publish, found through the W3C trace context stored with the
 * event, so a worker in another process continues the trace); each attempt sends its own
 * `traceparent` header, so the receiver's trace continues too. Exported over OTLP/HTTP by the
 * official SDK, which also reads the other standard OTEL_* variables. Off, nothing of it is loaded.
 */
import type { Span, Tracer } from "@opentelemetry/api";

export interface AttemptSpan {
  /** The `traceparent` header of this attempt (the attempt span's own context). */
  traceparent: string;
  end(r: { statusCode: number | null; success: boolean; outcome: string; error: string | null }): void;
}

export interface Tracing {
  /**
   * Runs a publish in its span; `parent` is a `traceparent` header, or undefined for the caller's
   * active context. `work` gets the context to store with the event.
   */
  publish<T>(attrs: { projectId: string; event: string }, parent: string | undefined, work: (traceparent: string) => Promise<T>): Promise<T>;
  /** Starts an attempt's span, a child of the stored publish context (a root span without one). */
  attempt(parent: string | null, attrs: { url: string; attempt: number; deliveryId: string; event: string; webhookId: string }): AttemptSpan;
  shutdown(): Promise<void>;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The tracing of a process with these settings, or null when OTEL_EXPORTER_OTLP_ENDPOINT is unset. */
export async function startTracing(endpoint: string | undefined, env: NodeJS.ProcessEnv, version: string): Promise<Tracing | null> {
  if (!endpoint || /^true$/i.test(env.OTEL_SDK_DISABLED ?? "")) return null;
  const api = await import("@opentelemetry/api");
  const { NodeTracerProvider, BatchSpanProcessor } = await import("@opentelemetry/sdk-trace-node");
  const { OTLPTraceExporter } = await import("@opentelemetry/exporter-trace-otlp-http");
  const { resourceFromAttributes } = await import("@opentelemetry/resources");
  const url = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || `${endpoint.replace(/\/$/, "")}/v1/traces`;
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ "service.name": env.OTEL_SERVICE_NAME || "hookline", "service.version": version }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url }))],
  });
  // Not registered globally: a host app's own tracer provider stays the host's.
  const tracer: Tracer = provider.getTracer("hookline", version);

  const contextOf = (traceparent: string | null | undefined) => {
    const m = traceparent ? TRACEPARENT.exec(traceparent.trim().toLowerCase()) : null;
    if (!m || /^0+$/.test(m[1]) || /^0+$/.test(m[2])) return api.ROOT_CONTEXT;
    return api.trace.setSpanContext(api.ROOT_CONTEXT, { traceId: m[1], spanId: m[2], traceFlags: parseInt(m[3], 16) & 1, isRemote: true });
  };
  const header = (span: Span) => {
    const c = span.spanContext();
    return `00-${c.traceId}-${c.spanId}-0${c.traceFlags & 1}`;
  };

  return {
    async publish(attrs, parent, work) {
      const ctx = parent === undefined ? api.context.active() : contextOf(parent);
      const span = tracer.startSpan(
        `publish ${attrs.event}`,
        { kind: api.SpanKind.PRODUCER, attributes: { "hookline.project_id": attrs.projectId, "hookline.event": attrs.event } },
        ctx,
      );
      try {
        const result = await work(header(span));
        const r = result as { id?: unknown; deliveries?: unknown };
        if (typeof r?.id === "string") span.setAttribute("hookline.event_id", r.id);
        if (typeof r?.deliveries === "number") span.setAttribute("hookline.deliveries", r.deliveries);
        return result;
      } catch (err) {
        span.recordException(err as Error);
        span.setStatus({ code: api.SpanStatusCode.ERROR, message: (err as Error).message });
        throw err;
      } finally {
        span.end();
      }
    },
    attempt(parent, attrs) {
      const u = new URL(attrs.url);
      const span = tracer.startSpan(
        `POST ${u.host}`,
        {
          kind: api.SpanKind.CLIENT,
          attributes: {
            "http.request.method": "POST",
            "server.address": u.hostname,
            "url.scheme": u.protocol.replace(":", ""),
            "hookline.attempt": attrs.attempt,
            "hookline.delivery_id": attrs.deliveryId,
            "hookline.webhook_id": attrs.webhookId,
            "hookline.event": attrs.event,
          },
        },
        contextOf(parent),
      );
      return {
        traceparent: header(span),
        end(r) {
          if (r.statusCode !== null) span.setAttribute("http.response.status_code", r.statusCode);
          span.setAttribute("hookline.outcome", r.outcome);
          if (!r.success) span.setStatus({ code: api.SpanStatusCode.ERROR, message: r.error ?? `HTTP ${r.statusCode}` });
          span.end();
        },
      };
    },
    async shutdown() {
      await provider.shutdown().catch(() => {});
    },
  };
}
