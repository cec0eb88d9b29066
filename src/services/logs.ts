import type { LogEntry, LogFilterQuery, LogPage, LogQuery, Stats } from "../api/schemas.js";
import { NotFoundError, ValidationError, type FieldError } from "../domain/errors.js";
import { isId } from "../domain/ids.js";
import * as logs from "../store/logs.js";
import { hourlyRollups, type HourlyCounts } from "../store/log-rollups.js";
import type { LogFilter } from "../store/logs.js";
import type { Trigger } from "../store/schema.js";
import type { Context } from "./context.js";
import { logEntryView, logSummaryView } from "./views.js";
import { findWebhookRow } from "./webhooks.js";

const wholeNumber = (n: number | undefined, min: number, max: number) => n === undefined || (Number.isInteger(n) && n >= min && n <= max);

const TRIGGERS: Trigger[] = ["event", "test", "redeliver", "recover"];
const ISO_TIME = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i;

/** An ISO-8601 date or date-time (UTC unless it names an offset), as epoch ms; NaN when it is not one. */
export function parseIsoTime(raw: string): number {
  if (!ISO_TIME.test(raw)) return NaN;
  const withZone = /T|\s/i.test(raw) && !/(Z|[+-]\d{2}:?\d{2})$/i.test(raw) ? `${raw}Z` : raw;
  return Date.parse(withZone.replace(" ", "T"));
}

/** The filters shared by the log list and its export; every bad value is named in a 422. */
export function parseLogFilter(q: LogFilterQuery): LogFilter {
  const details: FieldError[] = [];
  const out: LogFilter = {};
  if (q.success !== undefined) {
    if (typeof q.success !== "boolean") details.push({ field: "success", message: "must be true or false" });
    else out.success = q.success;
  }
  if (q.event !== undefined && q.event !== "") {
    if (q.event.length > 100) details.push({ field: "event", message: "must be an event name" });
    else out.event = q.event;
  }
  for (const field of ["from", "to"] as const) {
    const raw = q[field];
    if (raw === undefined || raw === "") continue;
    const ms = parseIsoTime(raw);
    if (!Number.isFinite(ms)) details.push({ field, message: "must be an ISO-8601 time, e.g. 2026-11-28T15:04:05Z" });
    else out[field] = ms;
  }
  if (out.from !== undefined && out.to !== undefined && out.from > out.to) details.push({ field: "from", message: "must not be after to" });
  if (q.status_code !== undefined && q.status_code !== "") {
    const code = q.status_code.trim().toLowerCase();
    if (/^[1-5]\d\d$/.test(code)) out.status = { min: Number(code), max: Number(code) };
    else if (/^[2-5]xx$/.test(code)) out.status = { min: Number(code[0]) * 100, max: Number(code[0]) * 100 + 99 };
    else details.push({ field: "status_code", message: "must be an HTTP status code (100–599) or a class: 2xx, 3xx, 4xx or 5xx" });
  }
  if (q.event_id !== undefined && q.event_id !== "") {
    if (!isId("evt", q.event_id)) details.push({ field: "event_id", message: "must be an event id (evt_…)" });
    else out.eventId = q.event_id;
  }
  if (q.delivery_id !== undefined && q.delivery_id !== "") {
    if (!isId("dlv", q.delivery_id)) details.push({ field: "delivery_id", message: "must be a delivery id (dlv_…)" });
    else out.deliveryId = q.delivery_id;
  }
  if (q.trigger !== undefined && q.trigger !== "") {
    if (!TRIGGERS.includes(q.trigger as Trigger)) details.push({ field: "trigger", message: `must be one of ${TRIGGERS.join(", ")}` });
    else out.trigger = q.trigger as Trigger;
  }
  if (details.length) throw new ValidationError(details);
  return out;
}

export async function listLogs(ctx: Context, projectId: string, webhookId: string, q: LogQuery): Promise<LogPage> {
  const hook = await findWebhookRow(ctx, projectId, webhookId);
  const details: FieldError[] = [];
  const limit = q.limit ?? 20;
  if (!wholeNumber(limit, 1, 100)) details.push({ field: "limit", message: "must be a whole number from 1 to 100" });
  if (q.cursor !== undefined && q.cursor !== "" && !isId("log", q.cursor))
    details.push({ field: "cursor", message: "must be a next_cursor value from a previous page" });
  let filter: LogFilter = {};
  try {
    filter = parseLogFilter(q);
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    details.push(...err.details);
  }
  if (details.length) throw new ValidationError(details);
  const rows = await logs.listLogEntries(ctx.store.db, { ...filter, webhookId: hook.id, limit: limit + 1, before: q.cursor || undefined });
  const page = rows.slice(0, limit);
  return {
    data: page.map((r) => logSummaryView(r)),
    next_cursor: rows.length > limit ? page[page.length - 1].id : null,
  };
}

/** Entries one export query reads: small enough to keep memory flat, large enough to amortise the round trip. */
const EXPORT_PAGE = 500;

/**
 * The filtered log as NDJSON lines, newest first, with request and response. It pages through the
 * log by id (a keyset cursor), so memory holds one page whatever the log's size, and no statement
 * or transaction stays open between pages (on SQLite one long read would hold the only connection).
 * The caller validates first (findWebhookRow, parseLogFilter) so errors are answered before streaming.
 */
export async function* exportLogLines(ctx: Context, webhookId: string, filter: LogFilter): AsyncGenerator<string> {
  let before: string | undefined;
  for (;;) {
    const rows = await logs.listFullLogEntries(ctx.store.db, { ...filter, webhookId, limit: EXPORT_PAGE, before });
    if (rows.length === 0) return;
    yield rows.map((r) => JSON.stringify(logEntryView(r)) + "\n").join("");
    if (rows.length < EXPORT_PAGE) return;
    before = rows[rows.length - 1].id;
  }
}

export async function getLog(ctx: Context, projectId: string, webhookId: string, logId: string): Promise<LogEntry> {
  const hook = await findWebhookRow(ctx, projectId, webhookId);
  const row = isId("log", logId) ? await logs.findLogEntry(ctx.store.db, hook.id, logId) : undefined;
  if (!row) throw new NotFoundError("Log entry");
  return logEntryView(row);
}

/** Per-hour succeeded/failed counts and latency percentiles of the last `hours` hours, oldest first (from the hourly rollups). */
export async function deliveryStats(ctx: Context, projectId: string, webhookId: string, hours = 24): Promise<Stats> {
  const hook = await findWebhookRow(ctx, projectId, webhookId);
  if (!wholeNumber(hours, 1, 168)) throw new ValidationError([{ field: "hours", message: "must be a whole number from 1 to 168" }]);
  const hour = 3600_000;
  const firstStart = Math.floor(ctx.now() / hour) * hour - (hours - 1) * hour;
  const rows = await hourlyRollups(ctx.store.db, hook.id, firstStart, firstStart + hours * hour);
  const buckets = Array.from({ length: hours }, (_, i) => ({ start: firstStart + i * hour, succeeded: 0, failed: 0, durations: [] as HourlyCounts[] }));
  for (const r of rows) {
    const b = buckets[(r.hour_start - firstStart) / hour];
    b.succeeded += r.succeeded;
    b.failed += r.failed;
    b.durations.push(r);
  }
  return {
    hours,
    buckets: buckets.map((b) => {
      const n = b.succeeded + b.failed;
      // Nearest rank over every attempt's duration: the rollup rows come in duration order with their counts.
      const pct = (p: number) => {
        if (n === 0) return null;
        const rank = Math.min(n - 1, Math.ceil(p * n) - 1);
        let seen = 0;
        for (const d of b.durations) if ((seen += d.succeeded + d.failed) > rank) return d.duration_ms;
        return null;
      };
      return { start: new Date(b.start).toISOString(), succeeded: b.succeeded, failed: b.failed, p50_ms: pct(0.5), p95_ms: pct(0.95) };
    }),
  };
}
