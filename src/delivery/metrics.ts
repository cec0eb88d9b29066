/** Prometheus series served at /metrics (docs/scaling.md): deliveries and attempts by outcome, attempt durations, backlog. */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { pendingStats } from "../store/deliveries.js";
import { recentFailuresByWebhook } from "../store/logs.js";
import type { Context } from "../services/context.js";
import type { CancelledByTrigger } from "../store/queue/cancel.js";
import type { DisabledReason } from "../store/schema.js";

export interface Metrics {
  registry: Registry;
  deliveries: Counter<"outcome" | "trigger">;
  attempts: Counter<"outcome" | "trigger">;
  attemptDuration: Histogram<"outcome">;
}

/** The window of the per-webhook failure ratio, and the most webhooks it lists. */
const FAILURE_WINDOW_MS = 5 * 60 * 1000;
const MAX_FAILING_WEBHOOKS = 100;

export function createMetrics(ctx: Context): Metrics {
  const registry = new Registry();
  const deliveries = new Counter({
    name: "hookline_deliveries_total",
    help: "Deliveries finished, by outcome (succeeded, failed, cancelled) and trigger.",
    labelNames: ["outcome", "trigger"] as const,
    registers: [registry],
  });
  const attempts = new Counter({
    name: "hookline_attempts_total",
    help: "HTTP attempts made, by outcome (success, failure) and trigger.",
    labelNames: ["outcome", "trigger"] as const,
    registers: [registry],
  });
  const attemptDuration = new Histogram({
    name: "hookline_attempt_duration_seconds",
    help: "Duration of delivery attempts.",
    labelNames: ["outcome"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  // Every cancellation, by the API or the worker, is announced once it is committed
  // (services/webhook-disable.ts) and counted here, under each delivery's own trigger.
  ctx.signals.on("cancelled", (byTrigger: CancelledByTrigger) => {
    for (const [trigger, n] of Object.entries(byTrigger)) if (n) deliveries.inc({ outcome: "cancelled", trigger }, n);
  });
  // Backlog gauges are read from the database at scrape time, so every node reports the same truth.
  let cached: { at: number; value: Promise<{ pending: number; oldestAgeSeconds: number }> } | null = null;
  const backlog = () => {
    const now = Date.now();
    if (!cached || now - cached.at > 1000)
      cached = { at: now, value: pendingStats(ctx.store.db, ctx.now()).catch(() => ({ pending: NaN, oldestAgeSeconds: NaN })) };
    return cached.value;
  };
  new Gauge({
    name: "hookline_pending_deliveries",
    help: "Deliveries waiting for an attempt (due, scheduled for retry, or in flight).",
    registers: [registry],
    async collect() {
      this.set((await backlog()).pending);
    },
  });
  new Gauge({
    name: "hookline_oldest_pending_age_seconds",
    help: "Age of the oldest pending delivery.",
    registers: [registry],
    async collect() {
      this.set((await backlog()).oldestAgeSeconds);
    },
  });
  const webhooksDisabled: Counter<"reason"> = new Counter({
    name: "hookline_webhooks_disabled_total",
    help: "Webhooks disabled by this process, by reason (manual: by a user; failures: after a delivery's last attempt failed; gone: the endpoint answered 410).",
    labelNames: ["reason"] as const,
    registers: [registry],
  });
  ctx.signals.on("webhook-disabled", (reason: DisabledReason) => webhooksDisabled.inc({ reason }));
  // Per-webhook failure ratio over the last 5 minutes, from the delivery log (every node reports the
  // cluster's), only for webhooks that failed at all and at most 100 of them, to bound the series.
  new Gauge({
    name: "hookline_webhook_failure_ratio",
    help: "Failed attempts / attempts per webhook over the last 5 minutes (webhooks with failures only).",
    labelNames: ["project_id", "webhook_id"] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const rows = await recentFailuresByWebhook(ctx.store.db, ctx.now() - FAILURE_WINDOW_MS, MAX_FAILING_WEBHOOKS).catch(() => []);
      for (const r of rows) this.set({ project_id: r.project_id, webhook_id: r.webhook_id }, r.failures / r.attempts);
    },
  });
  return { registry, deliveries, attempts, attemptDuration };
}
