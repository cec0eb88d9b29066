/**
 * The library's public types. Objects are the HTTP API's JSON objects (snake_case, as /api/openapi.json describes them), so a
 * host app, the API and the docs share one shape; options of the library's own calls are camelCase.
 */
import type { Logger } from "pino";
import type { LogEntrySummary, Webhook } from "../api/schemas.js";
import type { OPTIONS } from "../config.js";

// The objects: the `Static` types of the API's schemas, so the library and the HTTP API cannot drift.
export type {
  EventType,
  LogEntry,
  LogEntrySummary,
  LogPage,
  LogQuery,
  Notification,
  PortalLink,
  Project,
  PublishResult,
  Webhook,
  WebhookList,
} from "../api/schemas.js";

/** Maps event names to the type of their subject, e.g. `{ "test-run.completed": TestRun }`. */
export type EventMap = { [event: string]: object };

/** The event names of an event map. */
export type EventName<E> = Extract<keyof E, string>;

/** The options typed and documented here; see HooklineConfig. */
export interface HooklineTypedConfig {
  /** A `postgres://` URL, or the path of the SQLite file. Default `./data/hookline.db`. */
  databaseUrl?: string;
  /** Default port of `listen()`. Default 8080. */
  port?: number;
  /** The address users reach Hookline at; used in portal links. Default `http://localhost:<port>`. */
  publicUrl?: string;
  /** The admin bearer token (at least 16 characters). Default: generated into the data directory. */
  adminToken?: string;
  /** Signs portal tokens (at least 32 characters). Default: generated into the data directory. */
  secretKey?: string;
  /** Milliseconds to wait before each retry. Default `[1000, 10000, 100000]`. */
  retryDelaysMs?: number[];
  /** Timeout of one delivery attempt, in ms. Default 10000. */
  timeoutMs?: number;
  /** Enabled webhooks one project may have. Default 5. */
  maxActiveWebhooks?: number;
  /** Days a delivery log entry is kept. Default 14. */
  logRetentionDays?: number;
  /** Accept http:// webhook URLs (development only). Default false. */
  allowHttp?: boolean;
  /** `true` allows private, loopback and link-local targets; a list of CIDRs allows those. Default false. */
  allowPrivateNetworks?: boolean | string[];
  /** Path of a JSON file with the event catalog. Default: the built-in test-management catalog. */
  eventTypesFile?: string;
  /** Operator callback for auto-disabled webhooks. */
  notifyUrl?: string;
  /** Secret that signs the operator callback. */
  notifySecret?: string;
  /** SMTP server for notification e-mails (`smtp://` or `smtps://`). */
  smtpUrl?: string;
  /** Sender of notification e-mails. Default `Hookline <hookline@localhost>`. */
  smtpFrom?: string;
  /** Whether `listen()` also starts the delivery worker. Default true. */
  worker?: boolean;
  /** Delivery attempts one worker makes at once. Default 256. */
  concurrency?: number;
  /** PostgreSQL connections this process may open. Default 10. */
  poolSize?: number;
  /** Attempts in flight to one webhook at once, across all workers (halved while its attempts time out). Default 16. */
  perWebhookConcurrency?: number;
  /** API requests per minute per portal token (and per address without a valid token); the admin token is not limited. 0 turns it off. Default 600. */
  rateLimit?: number;
  /** Encrypts webhook secrets at rest: a base64 32-byte key, or `id:key,id:key` (current first). Default: unset. */
  encryptionKey?: string;
  /** Demo mode: allows loopback http targets. Default false. */
  demo?: boolean;
  /** pino log level when no `logger` is given. Default "info". */
  logLevel?: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
}

/**
 * Every configuration option, by its key in the configuration table (docs/configuration.md). An
 * option added to the table later and not yet typed above takes its raw text, as in its variable.
 */
export type HooklineConfig = HooklineTypedConfig & {
  [K in Exclude<keyof typeof OPTIONS, keyof HooklineTypedConfig>]?: string | number | boolean;
};

export interface HooklineOptions extends HooklineConfig {
  /**
   * Environment variables to read options from (HOOKLINE_*, DATABASE_URL, …); explicit options win.
   * Default: none — an embedded Hookline does not pick up the host app's own DATABASE_URL or PORT.
   * Pass `process.env` to configure it like the `hookline` command.
   */
  env?: NodeJS.ProcessEnv;
  /** A pino logger to log to. Default: a new pino logger at `logLevel`, writing JSON to stdout. */
  logger?: Logger;
  /** Extra CAs trusted for deliveries, on top of Node's and NODE_EXTRA_CA_CERTS. */
  ca?: string | Buffer | Array<string | Buffer>;
}

export interface PublishOptions {
  /** The same key within 24 h answers the first result and sends nothing again. */
  idempotencyKey?: string;
  /** `"import"`: accepted, delivers nothing. Inside `withoutWebhooks` it is always `"import"`. */
  source?: "app" | "import";
  /**
   * PostgreSQL: your node-postgres client (or Kysely transaction) inside an open transaction on
   * Hookline's database. The event and its deliveries are written with it, so they exist if and
   * only if your transaction commits; workers are woken at commit. On SQLite it is an error.
   */
  client?: { query(text: string, values?: unknown[]): Promise<unknown> } | object;
}

export interface ProjectInput {
  name: string;
  notification_emails?: string[];
}

export type DisabledReason = NonNullable<Webhook["disabled_reason"]>;

export interface WebhookInput<E = EventMap> {
  name: string;
  events: Array<EventName<E>>;
  /** An absolute https:// URL (see the URL rules in docs/security.md). */
  url: string;
  /** 1–256 characters; null or absent for none. */
  secret?: string | null;
  enabled?: boolean;
  /** Custom headers sent with every attempt (at most 10; not secret). Null removes them. See docs/receivers.md. */
  headers?: Record<string, string> | null;
  /** How attempts authenticate to the receiver. Its secret field is stored like secrets and never returned. Null removes it. */
  auth?: ReceiverAuthInput | null;
  /** A TLS client certificate presented to the receiver (mTLS): PEM certificate (chain allowed) and its unencrypted PEM key. Null removes it. */
  client_certificate?: { cert: string; key: string } | null;
  /** Only events whose delivery body this MongoDB-style query matches (docs/delivery-policies.md); null removes it. */
  filter?: Record<string, unknown> | null;
  /** Attempt starts per second across all workers, 0.01 to 1000; null removes it. */
  rate_limit?: { per_second: number } | null;
  /** "fifo": one attempt in flight, in creation order. Default "none". */
  ordering?: "none" | "fifo";
}

/** The `auth` of a webhook, as given (docs/receivers.md, "Authentication"). */
export type ReceiverAuthInput =
  | { type: "bearer"; token: string }
  | { type: "basic"; username: string; password: string }
  /** An API-key header (same name rules as custom headers). */
  | { type: "header"; name: string; value: string }
  | { type: "oauth2_client_credentials"; token_url: string; client_id: string; client_secret: string; scope?: string; audience?: string };

export type Trigger = LogEntrySummary["trigger"];

export interface PortalLinkOptions {
  /** Default "admin"; a viewer may read but not change. */
  role?: "admin" | "viewer";
  /** 1 s to 30 days; default 3600. */
  ttlSeconds?: number;
  /** A link for a host app's iframe (`mountPortal` from "hookline/embed"): no top bar. Default false. */
  embed?: boolean;
  /** `accent` "#rrggbb", `mode` "light" | "dark" | "system" (default). */
  theme?: { accent?: string; mode?: "light" | "dark" | "system" };
}

export interface ListenOptions {
  /** Default: the `port` option (8080). 0 picks a free port. */
  port?: number;
  /** Default "0.0.0.0". */
  host?: string;
}
