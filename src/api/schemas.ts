/**
 * The API's shapes, defined once: Fastify validates requests against them (types only; the domain
 * rules give the per-field messages), @fastify/swagger turns them into /api/openapi.json, and their
 * `Static` types are what the services answer and what the library publishes (src/library/types.ts).
 */
import { Type as T, type Static, type TSchema } from "@sinclair/typebox";

const Nullable = <S extends TSchema>(s: S) => T.Union([s, T.Null()]);
const Timestamp = T.String({ format: "date-time" });

export const ErrorSchema = T.Object(
  {
    error: T.Object({
      code: T.String(),
      message: T.String(),
      details: T.Optional(T.Array(T.Object({ field: T.String(), message: T.String() }))),
    }),
  },
  { $id: "Error" },
);

export const ProjectSchema = T.Object({
  id: T.String(),
  name: T.String(),
  notification_emails: T.Array(T.String()),
  created_at: Timestamp,
  updated_at: Timestamp,
});

export const EventTypeSchema = T.Object({
  name: T.String(),
  description: T.String(),
  example: T.Unknown(),
  schema: T.Unknown({ description: "JSON Schema (draft 2020-12) of the subject, or null" }),
});

const AuthTypes = T.Union([T.Literal("bearer"), T.Literal("basic"), T.Literal("header"), T.Literal("oauth2_client_credentials")]);

/** The receiver options as GET shows them: auth without its secret field, the certificate without its key. */
const ReceiverOptions = {
  headers: Nullable(T.Record(T.String(), T.String(), { description: "Custom request headers sent with every attempt (not secret)." })),
  auth: Nullable(
    T.Object(
      {
        type: AuthTypes,
        username: T.Optional(T.String({ description: "basic" })),
        name: T.Optional(T.String({ description: "header: the API-key header's name" })),
        token_url: T.Optional(T.String({ description: "oauth2_client_credentials" })),
        client_id: T.Optional(T.String({ description: "oauth2_client_credentials" })),
        scope: T.Optional(T.String({ description: "oauth2_client_credentials" })),
        audience: T.Optional(T.String({ description: "oauth2_client_credentials" })),
      },
      { description: "How attempts authenticate to the receiver; token, password, value and client_secret are never shown." },
    ),
  ),
  client_certificate: Nullable(
    T.Object(
      { subject: T.String(), issuer: T.String(), not_after: Timestamp, fingerprint_sha256: T.String({ description: "colon-separated uppercase hex" }) },
      { description: "The TLS client certificate presented to the receiver (mTLS); its key is never shown." },
    ),
  ),
};

/** The delivery policies (docs/delivery-policies.md) as the API shows them. */
const DeliveryPolicyFields = {
  filter: Nullable(
    T.Record(T.String(), T.Unknown(), {
      description: "MongoDB-style query on the delivery body {id, event, created_at, project_id, subject}: an event it does not match creates no delivery",
    }),
  ),
  rate_limit: Nullable(T.Object({ per_second: T.Number({ description: "attempt starts per second across all workers, 0.01 to 1000" }) })),
  ordering: T.Union([T.Literal("none"), T.Literal("fifo")], { description: "fifo: one attempt in flight, in creation order" }),
};

/** Their request forms: types are checked by the domain rules, which name each bad path. */
const DeliveryPolicyInput = {
  filter: T.Optional(T.Unknown({ description: "a query object (at most 4 KiB, 10 levels deep), or null to remove it" })),
  rate_limit: T.Optional(T.Unknown({ description: '{"per_second": 0.01..1000}, or null to remove it' })),
  ordering: T.Optional(T.Unknown({ description: '"none" (default) or "fifo"' })),
};

export const WebhookSchema = T.Object({
  id: T.String(),
  project_id: T.String(),
  name: T.String(),
  events: T.Array(T.String()),
  url: T.String(),
  enabled: T.Boolean(),
  disabled_reason: Nullable(T.Union([T.Literal("manual"), T.Literal("failures"), T.Literal("gone")])),
  disabled_at: Nullable(Timestamp),
  has_secret: T.Boolean(),
  previous_secret_expires_at: Nullable(Timestamp),
  public_key: Nullable(T.String({ description: '"whpk_" + base64 of the raw 32-byte Ed25519 public key that verifies `v1a,` signatures' })),
  ...ReceiverOptions,
  ...DeliveryPolicyFields,
  created_at: Timestamp,
  updated_at: Timestamp,
  last_delivery: T.Optional(Nullable(T.Object({ success: T.Boolean(), status_code: Nullable(T.Integer()), created_at: Timestamp }))),
});

const LogSummary = {
  id: T.String(),
  webhook_id: T.String(),
  delivery_id: T.String(),
  event_id: Nullable(T.String()),
  event: T.String(),
  attempt: T.Integer(),
  trigger: T.Union([T.Literal("event"), T.Literal("test"), T.Literal("redeliver"), T.Literal("recover")]),
  success: T.Boolean(),
  status_code: Nullable(T.Integer()),
  error: Nullable(T.String()),
  duration_ms: T.Integer(),
  created_at: Timestamp,
};

export const LogEntrySummarySchema = T.Object(LogSummary);
export const LogEntrySchema = T.Object({
  ...LogSummary,
  request: T.Object({ method: T.String(), url: T.String(), headers: T.Record(T.String(), T.String()), body: T.String() }),
  // Response header names are lowercase; a repeated header's values are joined with ", ".
  response: Nullable(T.Object({ status: T.Integer(), headers: T.Record(T.String(), T.String()), body: T.String(), truncated: T.Boolean() })),
});
export const LogPageSchema = T.Object({ data: T.Array(LogEntrySummarySchema), next_cursor: Nullable(T.String()) });

export const NotificationSchema = T.Object({
  id: T.String(),
  project_id: T.String(),
  kind: T.Literal("webhook.disabled"),
  webhook_id: Nullable(T.String()),
  message: T.String(),
  created_at: Timestamp,
  read_at: Nullable(Timestamp),
});

export const StatsSchema = T.Object({
  hours: T.Integer(),
  buckets: T.Array(T.Object({ start: Timestamp, succeeded: T.Integer(), failed: T.Integer(), p50_ms: Nullable(T.Number()), p95_ms: Nullable(T.Number()) })),
});

export const WebhookListSchema = T.Object({ data: T.Array(WebhookSchema), active_count: T.Integer(), active_limit: T.Integer() });
export const PublishResultSchema = T.Object({
  id: Nullable(T.String({ description: "The event id; null when skipped" })),
  deliveries: T.Integer({ description: "Deliveries queued: one per enabled webhook subscribed to the event" }),
  skipped: T.Optional(T.Literal("import")),
});
export const PortalLinkSchema = T.Object({
  token: T.String(),
  url: T.String({ description: "`<public url>/portal#token=…`: opens the UI for this project only" }),
  expires_at: Timestamp,
});
export const DeliveryIdSchema = T.Object({ delivery_id: T.String() });

// Request bodies: types only (the domain rules give the per-field messages). Unknown fields are refused (api/unknown-fields.ts).
export const ProjectBody = T.Object({ name: T.String(), notification_emails: T.Optional(Nullable(T.Array(T.String()))) });
export const EventTypeBody = T.Object({
  description: T.String(),
  example: T.Optional(T.Unknown()),
  schema: T.Optional(T.Unknown({ description: "JSON Schema (draft 2020-12) a published subject must match; null removes it" })),
});
export const PublishBody = T.Object({
  event: T.String(),
  subject: T.Record(T.String(), T.Unknown()),
  source: T.Optional(T.Union([T.Literal("app"), T.Literal("import")])),
});
export const WebhookCreateBody = T.Object({
  name: T.String(),
  events: T.Array(T.String()),
  url: T.String(),
  secret: T.Optional(Nullable(T.String())),
  enabled: T.Optional(T.Boolean()),
  // Checked by their own domain rules, which name the path of a bad value (e.g. `auth.token_url`).
  headers: T.Optional(
    T.Unknown({ description: "null, or an object of at most 10 header names (HTTP tokens) → string values (≤ 1,000 characters, no CR/LF); null removes them" }),
  ),
  auth: T.Optional(
    T.Unknown({
      description:
        'null, or one of {type: "bearer", token} · {type: "basic", username, password} · {type: "header", name, value} · {type: "oauth2_client_credentials", token_url, client_id, client_secret, scope?, audience?}; a PATCH replaces it whole',
    }),
  ),
  client_certificate: T.Optional(T.Unknown({ description: "null, or {cert, key}: a PEM certificate (chain allowed) and its unencrypted PEM private key" })),
  ...DeliveryPolicyInput,
});
export const WebhookPatchBody = T.Partial(WebhookCreateBody);
// Types are checked by the rotation rules, so that every bad value gets the same per-field message.
export const SecretRotateBody = T.Object({
  secret: T.Optional(T.Unknown({ description: "the new secret (1–256 characters); generated when omitted" })),
  previous_valid_seconds: T.Optional(T.Unknown({ description: "0..604800, default 86400: how long the old secret keeps signing" })),
});
export const SecretRotation = T.Object({ secret: T.String(), previous_secret_expires_at: Nullable(Timestamp) });
export const SigningKey = T.Object({ public_key: T.String() });
export const EventDetailSchema = T.Object({
  id: T.String(),
  event: T.String(),
  created_at: Timestamp,
  subject: T.Unknown(),
  deliveries: T.Array(
    T.Object({
      id: T.String(),
      webhook_id: T.String(),
      status: T.Union([T.Literal("pending"), T.Literal("succeeded"), T.Literal("failed"), T.Literal("cancelled")]),
      attempts: T.Integer(),
      trigger: T.Union([T.Literal("event"), T.Literal("test"), T.Literal("redeliver"), T.Literal("recover")]),
    }),
  ),
  not_delivered: T.Array(
    T.Object({
      webhook_id: T.String(),
      reason: T.Union([T.Literal("not_subscribed"), T.Literal("filtered"), T.Literal("disabled"), T.Literal("import")], {
        description: "why this webhook got no delivery of the event, judged by its settings now",
      }),
    }),
  ),
});
export const FilterTestBody = T.Object({
  event: T.Unknown({ description: "an event type name: its example is matched" }),
  filter: T.Unknown({ description: "the filter to try (the same rules as a webhook's `filter`)" }),
});
export const FilterTestResult = T.Object({
  matches: T.Boolean({ description: "whether the filter matches the delivery body of the event type's example" }),
  body: T.Unknown({ description: "the delivery body it was matched against" }),
});
export const PortalSessionBody = T.Object({
  role: T.Optional(T.Union([T.Literal("admin"), T.Literal("viewer")])),
  ttl_seconds: T.Optional(T.Integer({ minimum: 1, maximum: 30 * 24 * 3600 })),
  embed: T.Optional(T.Boolean({ description: "true: the link opens the portal for a host app's iframe, without its top bar (docs/host-apps.md)" })),
  // Its values and unknown keys are checked by the service, which names each (`theme.accent`).
  theme: T.Optional(
    T.Object({
      accent: T.Optional(T.String({ description: '"#rrggbb": buttons and links; adjusted where needed so text stays readable' })),
      mode: T.Optional(T.Union([T.Literal("light"), T.Literal("dark"), T.Literal("system")], { description: "default system (the viewer's OS setting)" })),
    }),
  ),
});

// Query strings: numbers and booleans arrive coerced (the ranges are domain rules, checked by the services).
/** The log's filters (list and export); they combine with AND. */
export const LogFilterQuery = T.Object({
  success: T.Optional(T.Boolean()),
  event: T.Optional(T.String({ description: "an event name" })),
  from: T.Optional(T.String({ description: "ISO-8601 time: entries at or after it" })),
  to: T.Optional(T.String({ description: "ISO-8601 time: entries at or before it" })),
  status_code: T.Optional(T.String({ description: "a status code (e.g. 404) or a class: 2xx, 3xx, 4xx, 5xx" })),
  event_id: T.Optional(T.String({ description: "evt_…: the attempts of that event" })),
  delivery_id: T.Optional(T.String({ description: "dlv_…: the attempts of that delivery" })),
  trigger: T.Optional(T.String({ description: "event, test, redeliver or recover" })),
});
export const LogQuery = T.Object({
  limit: T.Optional(T.Integer({ description: "1..100, default 20" })),
  cursor: T.Optional(T.String({ description: "`next_cursor` of the previous page" })),
  ...LogFilterQuery.properties,
});
export const StatsQuery = T.Object({ hours: T.Optional(T.Integer({ description: "1..168, default 24" })) });
export const IncludeQuery = T.Object({
  include: T.Optional(T.String({ description: "`last_delivery` adds each webhook's newest attempt (success, status_code, created_at)." })),
});

export const ProjectParams = T.Object({ project_id: T.String() });
export const WebhookParams = T.Object({ project_id: T.String(), id: T.String() });
export const LogParams = T.Object({ project_id: T.String(), id: T.String(), log_id: T.String() });

/** The error body, by reference to the one `Error` component (registered by buildApi). */
export const ErrorRef = T.Unsafe<Static<typeof ErrorSchema>>(T.Ref("Error"));

export const errorResponses = {
  400: ErrorRef,
  401: ErrorRef,
  403: ErrorRef,
  404: ErrorRef,
  422: ErrorRef,
  429: ErrorRef,
};

export type Project = Static<typeof ProjectSchema>;
export type EventType = Static<typeof EventTypeSchema>;
export type Webhook = Static<typeof WebhookSchema>;
export type WebhookList = Static<typeof WebhookListSchema>;
export type LogEntrySummary = Static<typeof LogEntrySummarySchema>;
export type LogEntry = Static<typeof LogEntrySchema>;
export type LogPage = Static<typeof LogPageSchema>;
export type LogQuery = Static<typeof LogQuery>;
export type LogFilterQuery = Static<typeof LogFilterQuery>;
export type Notification = Static<typeof NotificationSchema>;
export type Stats = Static<typeof StatsSchema>;
export type PublishResult = Static<typeof PublishResultSchema>;
export type PortalLink = Static<typeof PortalLinkSchema>;
