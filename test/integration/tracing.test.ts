/**
 * OpenTelemetry: with OTEL_EXPORTER_OTLP_ENDPOINT set, an API node exports a span per publish (a
 * child of the request's traceparent) and a worker in another process a span per attempt (a child
 * of its publish, through the context stored with the event); each attempt sends its traceparent.
 * The collector is a real OTLP/HTTP endpoint (node:http decoding the JSON export).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DIALECTS, createTestDatabase } from "../helpers/databases.js";
import { startHookline } from "../helpers/hookline.js";
import { nodeEnv, startNode, stopNodes, type HooklineNode } from "../helpers/nodes.js";
import { startReceiver, type Receiver } from "../helpers/receiver.js";
import { eventually } from "../helpers/wait.js";

interface ExportedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: Record<string, unknown>;
  service: unknown;
}

type OtlpValue = { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number };
const value = (v: OtlpValue) => v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : (v.boolValue ?? v.doubleValue));
const attrs = (list: Array<{ key: string; value: OtlpValue }> = []) => Object.fromEntries(list.map((a) => [a.key, value(a.value)]));

/** An OTLP/HTTP trace endpoint: POST /v1/traces with the JSON encoding. */
async function startCollector() {
  const spans: ExportedSpan[] = [];
  const contentTypes: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      contentTypes.push(String(req.headers["content-type"]));
      if (req.url === "/v1/traces" && req.method === "POST") {
        const doc = JSON.parse(Buffer.concat(chunks).toString("utf8"));
        for (const rs of doc.resourceSpans ?? []) {
          const service = attrs(rs.resource?.attributes)["service.name"];
          for (const ss of rs.scopeSpans ?? []) {
            for (const s of ss.spans ?? [])
              spans.push({
                traceId: s.traceId,
                spanId: s.spanId,
                parentSpanId: s.parentSpanId || undefined,
                name: s.name,
                attributes: attrs(s.attributes),
                service,
              });
          }
        }
      }
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    contentTypes,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const HOST_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const HOST_SPAN = "00f067aa0ba902b7";

describe.each(DIALECTS)("OpenTelemetry traces (%s)", (dialect) => {
  let rx: Receiver;
  let collector: Awaited<ReturnType<typeof startCollector>>;
  beforeAll(async () => {
    rx = await startReceiver();
    collector = await startCollector();
  });
  afterAll(async () => {
    await rx?.close();
    await collector?.close();
  });

  it("a publish span continues the caller's trace; each attempt, in the worker's process, is its child and sends traceparent", async () => {
    const db = await createTestDatabase(dialect);
    const nodes: HooklineNode[] = [];
    try {
      const env = nodeEnv(db.url, rx.ca, {
        OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
        OTEL_BSP_SCHEDULE_DELAY: "100",
        OTEL_SERVICE_NAME: `hookline-${dialect}`,
      });
      const api = await startNode("api", env);
      nodes.push(api);
      const worker = await startNode("worker", env);
      nodes.push(worker);
      await api.call("PUT", "/api/v1/projects/acme", { name: "Acme" });
      const hook = (await api.call("POST", "/api/v1/projects/acme/webhooks", { name: "h", events: ["issue.created"], url: `${rx.url}/hook` })).body;
      let calls = 0;
      rx.respondWith(() => (++calls === 1 ? { status: 500 } : { status: 200 }));
      const pub = await api.call(
        "POST",
        "/api/v1/projects/acme/events",
        { event: "issue.created", subject: { id: "BUG-1" } },
        { traceparent: `00-${HOST_TRACE}-${HOST_SPAN}-01` },
      );
      expect(pub.status).toBe(202);
      const requests = await rx.waitFor(2, 15_000);

      const spans = await eventually(
        () => {
          const mine = collector.spans.filter((s) => s.traceId === HOST_TRACE);
          return mine.length >= 3 ? mine : null;
        },
        15_000,
        `the publish span and two attempt spans (got ${JSON.stringify(collector.spans.map((s) => [s.name, s.traceId, s.parentSpanId]))})`,
      );
      const publish = spans.find((s) => s.name === "publish issue.created")!;
      expect(publish).toBeDefined();
      expect(publish.parentSpanId).toBe(HOST_SPAN);
      expect(publish.attributes).toMatchObject({
        "hookline.project_id": "acme",
        "hookline.event": "issue.created",
        "hookline.event_id": pub.body.id,
        "hookline.deliveries": 1,
      });
      expect(publish.service).toBe(`hookline-${dialect}`);
      const attempts = spans.filter((s) => s !== publish).sort((a, b) => Number(a.attributes["hookline.attempt"]) - Number(b.attributes["hookline.attempt"]));
      expect(attempts).toHaveLength(2);
      for (const [i, a] of attempts.entries()) {
        expect(a.parentSpanId).toBe(publish.spanId);
        expect(a.attributes).toMatchObject({
          "server.address": "127.0.0.1",
          "hookline.attempt": i + 1,
          "hookline.webhook_id": hook.id,
          "http.response.status_code": i === 0 ? 500 : 200,
          "hookline.outcome": i === 0 ? "failure" : "success",
        });
        // The receiver got this attempt's own context.
        expect(requests[i].headers.traceparent).toBe(`00-${HOST_TRACE}-${a.spanId}-01`);
      }
      expect(collector.contentTypes.every((t) => t.startsWith("application/json"))).toBe(true);
    } finally {
      await stopNodes(nodes);
      await db.drop();
    }
  });

  it("a library publish continues the caller's active context (the host's OpenTelemetry context manager)", async () => {
    const api = await import("@opentelemetry/api");
    const { AsyncLocalStorageContextManager } = await import("@opentelemetry/context-async-hooks");
    const manager = new AsyncLocalStorageContextManager().enable();
    api.context.setGlobalContextManager(manager);
    const hl = await startHookline({ dialect, env: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url } });
    try {
      await hl.project("acme");
      const { publish } = await import("../../src/services/publish.js");
      const host = api.trace.setSpanContext(api.ROOT_CONTEXT, { traceId: "a".repeat(32), spanId: "b".repeat(16), traceFlags: 1 });
      const res = await api.context.with(host, () => publish(hl.runtime.ctx, "acme", { event: "issue.created", subject: { id: "BUG-9" } }));
      await hl.close();
      const span = collector.spans.find((s) => s.attributes["hookline.event_id"] === res.id);
      expect(span).toMatchObject({ traceId: "a".repeat(32), parentSpanId: "b".repeat(16) });
    } finally {
      await hl.close();
      api.context.disable();
    }
  });

  it("a library publish without a caller's context starts a new trace; off by default, no traceparent and no spans", async () => {
    rx.clear();
    rx.respondWith({ status: 200 });
    const on = await startHookline({ dialect, worker: true, ca: rx.ca, env: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url } });
    try {
      expect(on.runtime.ctx.tracing).not.toBeNull();
      await on.project("acme");
      await on.api("POST", "/api/v1/projects/acme/webhooks", { name: "h", events: ["issue.created"], url: `${rx.url}/lib` });
      const before = collector.spans.length;
      const { publish } = await import("../../src/services/publish.js");
      const res = await publish(on.runtime.ctx, "acme", { event: "issue.created", subject: { id: "BUG-2" } });
      const [req] = await rx.waitFor(1, 10_000);
      const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(String(req.headers.traceparent));
      expect(m).not.toBeNull();
      expect(m![1]).not.toBe(HOST_TRACE);
      await on.close();
      const publishSpan = collector.spans.slice(before).find((s) => s.attributes["hookline.event_id"] === res.id);
      expect(publishSpan?.parentSpanId).toBeUndefined();
      expect(publishSpan?.traceId).toBe(m![1]);
    } finally {
      await on.close();
    }
    rx.clear();
    const off = await startHookline({ dialect, worker: true, ca: rx.ca });
    try {
      expect(off.runtime.ctx.tracing).toBeNull();
      await off.project("acme");
      await off.api("POST", "/api/v1/projects/acme/webhooks", { name: "h", events: ["issue.created"], url: `${rx.url}/off` });
      const before = collector.spans.length;
      await off.api(
        "POST",
        "/api/v1/projects/acme/events",
        { event: "issue.created", subject: { id: "BUG-3" } },
        { headers: { traceparent: `00-${HOST_TRACE}-${HOST_SPAN}-01` } },
      );
      const [req] = await rx.waitFor(1, 10_000);
      expect(req.headers.traceparent).toBeUndefined();
      expect(collector.spans.length).toBe(before);
    } finally {
      await off.close();
    }
  });
});
