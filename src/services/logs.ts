import type { LogEntry, LogPage, LogQuery, Stats } from "../api/schemas.js";
import { NotFoundError, ValidationError } from "../domain/errors.js";
import { isId } from "../domain/ids.js";
import * as logs from "../store/logs.js";
import type { Context } from "./context.js";
import { logEntryView, logSummaryView } from "./views.js";
import { findWebhookRow } from "./webhooks.js";

const wholeNumber = (n: number | undefined, min: number, max: number) => n === undefined || (Number.isInteger(n) && n >= min && n <= max);

export async function listLogs(ctx: Context, projectId: string, webhookId: string, q: LogQuery): Promise<LogPage> {
  const hook = await findWebhookRow(ctx, projectId, webhookId);
  const { limit = 20, cursor, success, event } = q;
  const details = [];
  if (!wholeNumber(limit, 1, 100)) details.push({ field: "limit", message: "must be a whole number from 1 to 100" });
  if (cursor !== undefined && cursor !== "" && !isId("log", cursor))
    details.push({ field: "cursor", message: "must be a next_cursor value from a previous page" });
  if (success !== undefined && typeof success !== "boolean") details.push({ field: "success", message: "must be true or false" });
  if (event !== undefined && event.length > 100) details.push({ field: "event", message: "must be an event name" });
  if (details.length) throw new ValidationError(details);
  const rows = await logs.listLogEntries(ctx.store.db, { webhookId: hook.id, limit, before: cursor || undefined, success, event: event || undefined });
  const page = rows.slice(0, limit);
  return {
    data: page.map((r) => logSummaryView(r)),
    next_cursor: rows.length > limit ? page[page.length - 1].id : null,
  };
}

export async function getLog(ctx: Context, projectId: string, webhookId: string, logId: string): Promise<LogEntry> {
  const hook = await findWebhookRow(ctx, projectId, webhookId);
  const row = isId("log", logId) ? await logs.findLogEntry(ctx.store.db, hook.id, logId) : undefined;
  if (!row) throw new NotFoundError("Log entry");
  return logEntryView(row);
}

/** Per-hour succeeded/failed counts and latency percentiles of the last `hours` hours, oldest first. */
export async function deliveryStats(ctx: Context, projectId: string, webhookId: string, hours = 24): Promise<Stats> {
  const hook = await findWebhookRow(ctx, projectId, webhookId);
  if (!wholeNumber(hours, 1, 168)) throw new ValidationError([{ field: "hours", message: "must be a whole number from 1 to 168" }]);
  const hour = 3600_000;
  const firstStart = Math.floor(ctx.now() / hour) * hour - (hours - 1) * hour;
  const rows = await logs.attemptsSince(ctx.store.db, hook.id, firstStart);
  const buckets = Array.from({ length: hours }, (_, i) => ({ start: firstStart + i * hour, succeeded: 0, failed: 0, durations: [] as number[] }));
  for (const r of rows) {
    const b = buckets[Math.floor((r.created_at - firstStart) / hour)];
    if (!b) continue;
    if (r.success === 1) b.succeeded++;
    else b.failed++;
    b.durations.push(r.duration_ms);
  }
  return {
    hours,
    buckets: buckets.map((b) => {
      const sorted = b.durations.sort((x, y) => x - y);
      const pct = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] : null);
      return { start: new Date(b.start).toISOString(), succeeded: b.succeeded, failed: b.failed, p50_ms: pct(0.5), p95_ms: pct(0.95) };
    }),
  };
}
