/** Objects of the public HTTP API (as /api/openapi.json describes them). */

export interface Project {
  id: string;
  name: string;
  notification_emails: string[];
  created_at: string;
  updated_at: string;
}

export type DisabledReason = null | "manual" | "failures";

export interface LastDelivery {
  success: boolean;
  created_at: string;
  status_code: number | null;
}

export interface Webhook {
  id: string;
  project_id: string;
  name: string;
  events: string[];
  url: string;
  enabled: boolean;
  disabled_reason: DisabledReason;
  disabled_at: string | null;
  has_secret: boolean;
  created_at: string;
  updated_at: string;
  last_delivery?: LastDelivery | null;
}

export interface WebhookList {
  data: Webhook[];
  active_count: number;
  active_limit: number;
}

export interface EventType {
  name: string;
  description: string;
  example?: unknown;
}

export type Trigger = "event" | "test" | "redeliver";

export interface LogEntry {
  id: string;
  webhook_id: string;
  delivery_id: string;
  event: string;
  attempt: number;
  trigger: Trigger;
  success: boolean;
  status_code: number | null;
  error: string | null;
  duration_ms: number | null;
  created_at: string;
}

export interface LogRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[]>;
  body: string;
}

export interface LogResponse {
  status: number;
  headers: Record<string, string | string[]>;
  body: string;
  truncated: boolean;
}

export interface LogEntryDetail extends LogEntry {
  request: LogRequest;
  response: LogResponse | null;
}

export interface LogPage {
  data: LogEntry[];
  next_cursor: string | null;
}

export interface StatsBucket {
  start: string;
  succeeded: number;
  failed: number;
  p50_ms: number | null;
  p95_ms: number | null;
}

export interface Stats {
  hours: number;
  buckets: StatsBucket[];
}

export interface Notification {
  id: string;
  project_id: string;
  kind: string;
  webhook_id: string | null;
  message: string;
  created_at: string;
  read_at: string | null;
}

export type Me =
  | { kind: "admin" }
  | { kind: "portal"; project_id: string; role: "admin" | "viewer"; expires_at: string };

export interface FieldError {
  field: string;
  message: string;
}

export interface PortalSession {
  token: string;
  url: string;
  expires_at: string;
}

export interface WebhookInput {
  name: string;
  events: string[];
  url: string;
  secret?: string | null;
  enabled?: boolean;
}
