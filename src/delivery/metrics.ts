/** Prometheus series served at /metrics (docs/scaling.md): deliveries and attempts by outcome, attempt durations, backlog. */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { pendingStats } from "../store/deliveries.js";
import type { Context } from "../services/context.js";

export interface Metrics {
  registry: Registry;
  deliveries: Counter<"outcome" | "trigger">;
  attempts: Counter<"outcome" | "trigger">;
  attemptDuration: Histogram<"outcome">;
}

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
  // Backlog gauges are read from the database at scrape time, so every node reports the same truth.
  let cached: { at: number; value: Promise<{ pending: number; oldestAgeSeconds: number }> } | null = null;
  const backlog = () => {
    const now = Date.now();
    if (!cached || now - cached.at > 1000) cached = { at: now, value: pendingStats(ctx.store.db, ctx.now()).catch(() => ({ pending: NaN, oldestAgeSeconds: NaN })) };
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
  return { registry, deliveries, attempts, attemptDuration };
}
