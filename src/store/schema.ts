/**
 * Table types shared by both dialects. Timestamps are epoch milliseconds (bigint on PostgreSQL,
 * parsed to number), booleans are 0/1 integers and JSON is stored as text, so that the same
 * queries run on SQLite and PostgreSQL and payload bytes stay exactly as published.
 */
import type { Generated, Selectable } from "kysely";

export interface ProjectsTable {
  id: string;
  name: string;
  notification_emails: string; // JSON array of strings
  created_at: number;
  updated_at: number;
}

export interface EventTypesTable {
  name: string;
  description: string;
  example: string; // JSON
  /** JSON Schema (draft 2020-12) of the subject, as JSON text; null: any object (migration 0006). */
  schema: string | null;
  created_at: number;
  updated_at: number;
}

export interface WebhooksTable {
  id: string;
  project_id: string;
  name: string;
  events: string; // JSON array of event names
  url: string;
  secret: string | null;
  /** The secret before the last rotation (stored like `secret`), signing too until it expires. */
  previous_secret?: string | null;
  previous_secret_expires_at?: number | null;
  /** The Ed25519 private key (base64 PKCS#8 DER, stored like `secret`) for `v1a,` signatures. */
  signing_key?: string | null;
  /** Its public key as published to receivers: "whpk_" + base64 of the raw 32 bytes. */
  public_key?: string | null;
  /** Custom request headers: JSON object of name → value (migration 0009). */
  headers?: string | null;
  /** The receiver auth without its secret field: JSON (domain/receiver-auth.ts). */
  auth?: string | null;
  /** The auth's secret field (token, password, value or client_secret), stored like `secret`. */
  auth_secret?: string | null;
  /** The TLS client certificate, PEM (chain allowed). */
  client_cert?: string | null;
  /** Its private key, PEM, stored like `secret`. */
  client_key?: string | null;
  enabled: number;
  disabled_reason: DisabledReason | null;
  disabled_at: number | null;
  /**
   * Attempts that may be in flight to it at once while its attempts time out (halved per time-out,
   * one back per success); null: HOOKLINE_WEBHOOK_CONCURRENCY. Kept here so every worker sees it.
   */
  inflight_limit?: number | null;
  /** The payload filter as JSON text (domain/payload-filter.ts); null: none (migration 0010). */
  filter?: string | null;
  /** Attempt starts per second, across all workers (domain/rate-limit.ts); null: no limit. */
  rate_limit_per_second?: number | null;
  /** The rate limit's state: when its next start is due at the steady rate (epoch ms; store/queue/rate-limit.ts). */
  rate_limit_tat?: number | null;
  /** "fifo": one attempt in flight, in creation order (store/queue/fifo.ts). */
  ordering?: "none" | "fifo";
  created_at: number;
  updated_at: number;
}

export interface EventsTable {
  id: string;
  project_id: string;
  event: string;
  /** The exact body bytes every attempt sends. */
  payload: string;
  created_at: number;
  /** The publish span's `traceparent` when tracing was on (migration 0006). */
  trace_context?: string | null;
}

export type DeliveryStatus = "pending" | "succeeded" | "failed" | "cancelled";
/** Why a webhook is disabled: by a user (or created disabled), after a delivery's last attempt failed, or after 410 Gone. */
export type DisabledReason = "manual" | "failures" | "gone";
export type Trigger = "event" | "test" | "redeliver" | "recover";

export interface DeliveriesTable {
  id: string;
  event_id: string;
  webhook_id: string;
  project_id: string;
  trigger: Trigger;
  status: DeliveryStatus;
  /** Attempts recorded so far. */
  attempts: number;
  max_attempts: number;
  /** The retry delays (JSON array of ms) in force when it was created; null: the configured ones. */
  retry_delays?: string | null;
  /** Pending: due at this time (a claim leaves it alone). */
  run_at: number;
  /** The claiming worker's token while leased. */
  lease_token: string | null;
  /**
   * While leased: when the lease expires and any worker may make the attempt again. Kept apart from
   * run_at so that a claim changes no indexed column (migration 0003).
   */
  lease_until?: number | null;
  created_at: number;
  updated_at: number;
}

export interface LogEntriesTable {
  id: string;
  webhook_id: string;
  delivery_id: string;
  project_id: string;
  event: string;
  attempt: number;
  trigger: Trigger;
  success: number;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
  created_at: number;
  request: string; // JSON {method, url, headers, body}
  response: string | null; // JSON {status, headers, body, truncated}
}

export type OutboxState = "none" | "pending" | "sent" | "failed";

export interface NotificationsTable {
  id: string;
  project_id: string;
  kind: "webhook.disabled";
  webhook_id: string | null;
  message: string;
  created_at: number;
  read_at: number | null;
  email_state: OutboxState;
  callback_state: OutboxState;
  /** Outbox: when the e-mail/callback is next tried. */
  outbox_run_at: number | null;
  outbox_attempts: number;
}

export interface IdempotencyKeysTable {
  project_id: string;
  key: string;
  response: string; // JSON of the first answer
  created_at: number;
}

export interface ClusterCredentialsTable {
  name: "admin_token_sha256" | "secret_key";
  value: string;
  created_at: number;
}

/**
 * The delivery log counted per webhook, hour and whole-millisecond duration (store/log-rollups.ts):
 * the 24 h stats read these instead of the entries. One row per distinct duration keeps the
 * stats' percentiles exact.
 */
export interface LogHourlyRollupsTable {
  webhook_id: string;
  /** The hour's start, epoch ms (a multiple of 3,600,000). */
  hour_start: number;
  duration_ms: number;
  succeeded: number;
  failed: number;
}

export interface Database {
  projects: ProjectsTable;
  event_types: EventTypesTable;
  webhooks: WebhooksTable;
  events: EventsTable;
  deliveries: DeliveriesTable;
  log_entries: LogEntriesTable;
  log_hourly_rollups: LogHourlyRollupsTable;
  notifications: NotificationsTable;
  idempotency_keys: IdempotencyKeysTable;
  cluster_credentials: ClusterCredentialsTable;
}

export type ProjectRow = Selectable<ProjectsTable>;
export type WebhookRow = Selectable<WebhooksTable>;
export type DeliveryRow = Selectable<DeliveriesTable>;
export type LogEntryRow = Selectable<LogEntriesTable>;
export type NotificationRow = Selectable<NotificationsTable>;
export type EventTypeRow = Selectable<EventTypesTable>;
// Generated is re-exported for repositories that insert with defaults.
export type { Generated };
