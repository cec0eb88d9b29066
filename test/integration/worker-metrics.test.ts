/**
 * Worker observability: `hookline worker --metrics-port` serves /metrics, /healthz and /readyz, and
 * hookline_deliveries_total{outcome="cancelled"} counts every cancellation, those of a disable too,
 * under each delivery's own trigger; hookline_webhooks_disabled_total counts manual disables too.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DIALECTS, createTestDatabase } from "../helpers/databases.js";
import { startHookline, type TestHookline } from "../helpers/hookline.js";
import { nodeEnv, startNode, stopNodes, type HooklineNode } from "../helpers/nodes.js";
import { startReceiver, type Receiver } from "../helpers/receiver.js";
import { eventually } from "../helpers/wait.js";

/** The value of one series in a Prometheus text answer (0 when absent). */
function series(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split("\n")) {
    const m = /^([a-z_]+)(\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[3] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) total += Number(m[4]);
  }
  return total;
}

describe.each(DIALECTS)("worker metrics (%s)", (dialect) => {
  let rx: Receiver;
  beforeAll(async () => {
    rx = await startReceiver();
  });
  afterAll(async () => {
    await rx?.close();
  });

  it("`hookline worker --metrics-port` serves /metrics, /healthz and /readyz; HOOKLINE_METRICS_PORT too", async () => {
    const db = await createTestDatabase(dialect);
    const nodes: HooklineNode[] = [];
    try {
      const env = nodeEnv(db.url, rx.ca);
      const api = await startNode("api", env);
      nodes.push(api);
      const worker = await startNode("worker", env, ["--metrics-port", "0"]);
      nodes.push(worker);
      const port = Number((await worker.proc.waitForOutput(/"port":(\d+)[^\n]*"msg":"metrics server listening"/, 10_000))[1]);
      const base = `http://127.0.0.1:${port}`;
      expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: "ok" });
      expect(await (await fetch(`${base}/readyz`)).json()).toEqual({ status: "ready" });
      expect((await fetch(`${base}/nope`)).status).toBe(404);

      await api.call("PUT", "/api/v1/projects/acme", { name: "Acme" });
      expect((await api.call("POST", "/api/v1/projects/acme/webhooks", { name: "h", events: ["issue.created"], url: rx.url })).status).toBe(201);
      for (let i = 0; i < 3; i++) await api.call("POST", "/api/v1/projects/acme/events", { event: "issue.created", subject: { id: `BUG-${i}` } });
      // The attempts were made by the worker process, so its endpoint is where they are counted.
      const text = await eventually(
        async () => {
          const t = await (await fetch(`${base}/metrics`)).text();
          return series(t, "hookline_deliveries_total", { outcome: "succeeded" }) === 3 ? t : null;
        },
        15_000,
        "3 succeeded deliveries on the worker's /metrics",
      );
      expect(series(text, "hookline_attempts_total", { outcome: "success" })).toBe(3);
      expect(series(text, "hookline_attempt_duration_seconds_count")).toBe(3);
      expect(text).toMatch(/^hookline_oldest_pending_age_seconds /m);

      // The environment variable does the same; a bad value stops the worker naming it.
      const byEnv = await startNode("worker", { ...env, HOOKLINE_METRICS_PORT: "0" });
      nodes.push(byEnv);
      const port2 = Number((await byEnv.proc.waitForOutput(/"port":(\d+)[^\n]*"msg":"metrics server listening"/, 10_000))[1]);
      expect((await fetch(`http://127.0.0.1:${port2}/healthz`)).status).toBe(200);
      await stopNodes(nodes);
      await expect(startNode("worker", { ...env, HOOKLINE_METRICS_PORT: "nope" })).rejects.toThrow();
    } finally {
      await stopNodes(nodes);
      await db.drop();
    }
  });

  describe("cancelled deliveries", () => {
    let hl: TestHookline;
    beforeAll(async () => {
      hl = await startHookline({ dialect, worker: true, ca: rx.ca, env: { HOOKLINE_RETRY_DELAYS: "0.3,0.3,0.3", HOOKLINE_TIMEOUT_MS: "10000" } });
      await hl.project("acme");
    });
    afterAll(async () => {
      await hl?.close();
    });
    const cancelledMetric = async () => series(await (await fetch(`${hl.baseUrl}/metrics`)).text(), "hookline_deliveries_total", { outcome: "cancelled" });
    const cancelledRows = async () =>
      Number(
        (
          await hl.runtime.ctx.store.db
            .selectFrom("deliveries")
            .select((eb) => eb.fn.countAll().as("n"))
            .where("status", "=", "cancelled")
            .executeTakeFirstOrThrow()
        ).n,
      );

    const inFlight = async (webhookId: string) =>
      Number(
        (
          await hl.runtime.ctx.store.db
            .selectFrom("deliveries")
            .select((eb) => eb.fn.countAll().as("n"))
            .where("webhook_id", "=", webhookId)
            .where("lease_token", "is not", null)
            .executeTakeFirstOrThrow()
        ).n,
      );

    it("counts the queued deliveries a manual disable cancels, and those an auto-disable cancels", async () => {
      // Manual: deliveries whose first attempts are in flight (answered after 3 s) are cancelled by
      // PATCH {enabled: false}.
      rx.respondWith({ status: 500, delayMs: 3000 });
      const a = (await hl.api("POST", "/api/v1/projects/acme/webhooks", { name: "a", events: ["issue.created"], url: `${rx.url}/a` })).body;
      for (let i = 0; i < 3; i++) await hl.api("POST", "/api/v1/projects/acme/events", { event: "issue.created", subject: { id: `A-${i}` } });
      await eventually(async () => (await inFlight(a.id)) === 3, 10_000, "first attempts of a in flight");
      expect((await hl.api("PATCH", `/api/v1/projects/acme/webhooks/${a.id}`, { enabled: false })).status).toBe(200);
      expect(await cancelledRows()).toBe(3);
      expect(await cancelledMetric()).toBe(3);
      let text = await (await fetch(`${hl.baseUrl}/metrics`)).text();
      expect(series(text, "hookline_webhooks_disabled_total", { reason: "manual" })).toBe(1);

      // Each cancelled delivery is counted under its own trigger: r's recovered deliveries (events
      // published while it was disabled) are cancelled by the next disable as `recover`.
      const r = (await hl.api("POST", "/api/v1/projects/acme/webhooks", { name: "r", events: ["issue.updated"], url: `${rx.url}/r`, enabled: false })).body;
      const since = new Date(Date.now() - 60_000).toISOString();
      for (let i = 0; i < 2; i++) await hl.api("POST", "/api/v1/projects/acme/events", { event: "issue.updated", subject: { id: `R-${i}` } });
      expect((await hl.api("PATCH", `/api/v1/projects/acme/webhooks/${r.id}`, { enabled: true })).status).toBe(200);
      expect((await hl.api("POST", `/api/v1/projects/acme/webhooks/${r.id}/recover`, { since })).body).toEqual({ deliveries: 2 });
      expect((await hl.api("PATCH", `/api/v1/projects/acme/webhooks/${r.id}`, { enabled: false })).status).toBe(200);
      text = await (await fetch(`${hl.baseUrl}/metrics`)).text();
      expect(series(text, "hookline_deliveries_total", { outcome: "cancelled", trigger: "recover" })).toBe(2);
      expect(series(text, "hookline_deliveries_total", { outcome: "cancelled", trigger: "event" })).toBe(3);
      expect(series(text, "hookline_webhooks_disabled_total", { reason: "manual" })).toBe(2);

      // Auto-disable: TR-0 spends its retries (quick 500s) while the first attempts of the others are
      // still in flight (answered after 4 s), so they are pending when it happens, and are cancelled.
      rx.respondWith((req) => (JSON.parse(req.body).subject.id === "TR-0" ? { status: 500 } : { status: 500, delayMs: 4000 }));
      const b = (await hl.api("POST", "/api/v1/projects/acme/webhooks", { name: "b", events: ["test-run.completed"], url: `${rx.url}/b` })).body;
      for (let i = 1; i <= 4; i++) await hl.api("POST", "/api/v1/projects/acme/events", { event: "test-run.completed", subject: { id: `TR-${i}` } });
      await eventually(async () => (await inFlight(b.id)) === 4, 10_000, "first attempts of b in flight");
      await hl.api("POST", "/api/v1/projects/acme/events", { event: "test-run.completed", subject: { id: "TR-0" } });
      await eventually(async () => (await hl.api("GET", `/api/v1/projects/acme/webhooks/${b.id}`)).body.disabled_reason === "failures", 15_000, "auto-disable");
      const rows = await cancelledRows();
      const dbg = await hl.runtime.ctx.store.db
        .selectFrom("deliveries")
        .innerJoin("events", "events.id", "deliveries.event_id")
        .select(["events.payload", "deliveries.status", "deliveries.attempts", "deliveries.webhook_id"])
        .execute();
      expect(rows, JSON.stringify(dbg.map((d) => [JSON.parse(d.payload).subject.id, d.status, d.attempts]))).toBe(3 + 2 + 4);
      await eventually(async () => (await cancelledMetric()) === rows, 5000, `the metric to count ${rows} cancellations`);
      text = await (await fetch(`${hl.baseUrl}/metrics`)).text();
      expect(series(text, "hookline_deliveries_total", { outcome: "cancelled", trigger: "event" })).toBe(3 + 4);
      expect(series(text, "hookline_webhooks_disabled_total", { reason: "failures" })).toBe(1);
      expect(series(text, "hookline_webhooks_disabled_total", { reason: "manual" })).toBe(2);
      // Every attempt to either webhook failed in the last 5 minutes.
      expect(series(text, "hookline_webhook_failure_ratio", { webhook_id: b.id, project_id: "acme" })).toBe(1);
      // a's attempts, answered after the cancellation, are logged as failures too.
      await eventually(
        async () => series(await (await fetch(`${hl.baseUrl}/metrics`)).text(), "hookline_webhook_failure_ratio", { webhook_id: a.id }) === 1,
        10_000,
        "a's failure ratio",
      );
    });
  });
});
