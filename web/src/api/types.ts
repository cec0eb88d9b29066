/** Objects of the public HTTP API (as /api/openapi.json describes them). */

export interface Project {
  id: string;
  name: string;
  notification_emails: string[];
  created_at: string;
  updated_at: string;
}

export type DisabledReason = null | "manual" | "failures" | "gone";

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
  /** While the secret before the last rotation still signs too. */
  previous_secret_expires_at: string | null;
  /** "whpk_…": verifies the v1a signature, when the webhook has a signing key. */
  public_key: string | null;
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

export type Trigger = "event" | "test" | "redeliver" | "recover";

export interface LogEntry {
  id: string;
  webhook_id: string;
  delivery_id: string;
  event_id: string | null;
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

export interface SecretRotation {
  secret: string;
  previous_secret_expires_at: string | null;
}

export interface EventDelivery {
  id: string;
  webhook_id: string;
  status: "pending" | "succeeded" | "failed" | "cancelled";
  attempts: number;
  trigger: Trigger;
}

/** GET …/events/{event_id}: where did this event go? */
export interface EventDetail {
  id: string;
  event: string;
  created_at: string;
  subject: unknown;
  deliveries: EventDelivery[];
}
