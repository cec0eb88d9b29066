/** Rows → the API's objects (their schemas are in src/api/schemas.ts, served as /api/openapi.json). Secrets and private keys never pass through here. */
import type { EventType, LogEntry, LogEntrySummary, Notification, Project, Webhook } from "../api/schemas.js";
import { receiverOptionsView } from "./receiver-options.js";
import type { EventTypeRow, LogEntryRow, NotificationRow, ProjectRow, WebhookRow } from "../store/schema.js";

function iso(ms: number): string;
function iso(ms: number | null): string | null;
function iso(ms: number | null) {
  return ms === null ? null : new Date(ms).toISOString();
}

export function projectView(p: ProjectRow): Project {
  return {
    id: p.id,
    name: p.name,
    notification_emails: JSON.parse(p.notification_emails) as string[],
    created_at: iso(p.created_at),
    updated_at: iso(p.updated_at),
  };
}

export interface LastDelivery {
  success: number;
  created_at: number;
  status_code: number | null;
}

/** `now` decides whether a rotated-out secret still counts (an expired one is as good as forgotten). */
export function webhookView(w: WebhookRow, last?: LastDelivery | null, now = Date.now()): Webhook {
  const previousUntil =
    w.previous_secret && w.previous_secret_expires_at != null && Number(w.previous_secret_expires_at) > now ? Number(w.previous_secret_expires_at) : null;
  return {
    id: w.id,
    project_id: w.project_id,
    name: w.name,
    events: JSON.parse(w.events) as string[],
    url: w.url,
    enabled: w.enabled === 1,
    disabled_reason: w.disabled_reason,
    disabled_at: iso(w.disabled_at),
    has_secret: w.secret !== null,
    previous_secret_expires_at: iso(previousUntil),
    public_key: w.public_key ?? null,
    ...receiverOptionsView(w),
    filter: w.filter ? (JSON.parse(w.filter) as Record<string, unknown>) : null,
    rate_limit: w.rate_limit_per_second != null ? { per_second: Number(w.rate_limit_per_second) } : null,
    ordering: w.ordering ?? "none",
    created_at: iso(w.created_at),
    updated_at: iso(w.updated_at),
    ...(last !== undefined
      ? { last_delivery: last ? { success: last.success === 1, status_code: last.status_code, created_at: iso(last.created_at) } : null }
      : {}),
  };
}

export function eventTypeView(t: EventTypeRow): EventType {
  return {
    name: t.name,
    description: t.description,
    example: JSON.parse(t.example) as unknown,
    schema: t.schema === null ? null : (JSON.parse(t.schema) as unknown),
  };
}

export function logSummaryView(l: Omit<LogEntryRow, "request" | "response"> & { event_id?: string | null }): LogEntrySummary {
  return {
    id: l.id,
    webhook_id: l.webhook_id,
    delivery_id: l.delivery_id,
    event_id: l.event_id ?? null,
    event: l.event,
    attempt: l.attempt,
    trigger: l.trigger,
    success: l.success === 1,
    status_code: l.status_code,
    error: l.error,
    duration_ms: l.duration_ms,
    created_at: iso(l.created_at),
  };
}

export function logEntryView(l: LogEntryRow & { event_id?: string | null }): LogEntry {
  return {
    ...logSummaryView(l),
    request: JSON.parse(l.request) as LogEntry["request"],
    response: l.response ? (JSON.parse(l.response) as LogEntry["response"]) : null,
  };
}

export function notificationView(n: NotificationRow): Notification {
  return {
    id: n.id,
    project_id: n.project_id,
    kind: n.kind,
    webhook_id: n.webhook_id,
    message: n.message,
    created_at: iso(n.created_at),
    read_at: iso(n.read_at),
  };
}
