/**
 * One typed, validated configuration. Raw flags and environment variables go in, a ResolvedConfig
 * with every default filled comes out; a bad value throws ConfigError naming the variable, and the
 * CLI stops with that message. Each option is documented once, here (the README's configuration
 * reference is generated from this table).
 */
import { availableParallelism } from "node:os";
import { parseKeyRing, type KeyRing } from "./domain/secret-box.js";
import { parseAllowPrivateNetworks, type UrlPolicy } from "./domain/url-policy.js";

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = "ConfigError";
  }
}

type Parser<T> = (raw: string) => T;

interface OptionDef<T> {
  env: string;
  flag?: string;
  default: T;
  /** How the default reads in docs, where it is computed. */
  defaultText?: string;
  doc: string;
  parse: Parser<T>;
}

const int =
  (min: number, max: number): Parser<number> =>
  (raw) => {
    if (!/^\d+$/.test(raw.trim())) throw new Error(`must be a whole number from ${min} to ${max}, got "${raw}"`);
    const n = Number(raw);
    if (n < min || n > max) throw new Error(`must be from ${min} to ${max}, got ${n}`);
    return n;
  };

const bool: Parser<boolean> = (raw) => {
  const v = raw.trim().toLowerCase();
  if (["true", "1", "yes", "on"].includes(v)) return true;
  if (["false", "0", "no", "off", ""].includes(v)) return false;
  throw new Error(`must be true or false, got "${raw}"`);
};

const text: Parser<string> = (raw) => raw;
/** An optional whole number: empty means unset. */
const optionalInt =
  (min: number, max: number): Parser<number | undefined> =>
  (raw) =>
    raw.trim() === "" ? undefined : int(min, max)(raw);
const optionalText: Parser<string | undefined> = (raw) => (raw.trim() === "" ? undefined : raw.trim());

const httpUrl: Parser<string | undefined> = (raw) => {
  if (raw.trim() === "") return undefined;
  if (!URL.canParse(raw.trim())) throw new Error(`must be an absolute http(s) URL, got "${raw}"`);
  const u = new URL(raw.trim());
  if (u.protocol !== "https:" && u.protocol !== "http:") throw new Error(`must be an http(s) URL, got "${raw}"`);
  return u.toString().replace(/\/$/, "");
};

/** Where users reach Hookline: `<it>/portal#token=…` must still be a working link. */
const publicUrl: Parser<string | undefined> = (raw) => {
  const url = httpUrl(raw);
  if (url === undefined) return undefined;
  const u = new URL(url);
  if (u.search || u.hash || u.username || u.password) {
    throw new Error(`must be a plain base URL without query, fragment or credentials (e.g. https://hooks.example.com), got "${raw}"`);
  }
  return url;
};

/** The example host page of examples/embed-host, which `--demo` lets frame the portal when the variable is unset. */
export const DEMO_FRAME_ANCESTORS = ["http://localhost:3100", "http://127.0.0.1:3100"];

/**
 * Origins that may frame the portal, as the browser writes them (`scheme://host[:port]`, lower case,
 * no default port): they go into the CSP and are compared with `MessageEvent.origin` as strings.
 */
const frameAncestors: Parser<string[]> = (raw) => {
  const out: string[] = [];
  for (const item of raw.split(/\s+/).filter(Boolean)) {
    const trimmed = item.replace(/\/$/, "");
    const u = URL.canParse(trimmed) ? new URL(trimmed) : null;
    if (
      !u ||
      (u.protocol !== "https:" && u.protocol !== "http:") ||
      u.pathname !== "/" ||
      u.search ||
      u.hash ||
      u.username ||
      u.password ||
      /[*,]/.test(item)
    ) {
      throw new Error(
        `"${item}" is not an origin: list http(s) origins separated by spaces, each scheme://host[:port] without path or wildcard (e.g. https://app.example.com)`,
      );
    }
    if (!out.includes(u.origin)) out.push(u.origin);
  }
  return out;
};

const smtpUrl: Parser<string | undefined> = (raw) => {
  if (raw.trim() === "") return undefined;
  const protocol = URL.canParse(raw.trim()) ? new URL(raw.trim()).protocol : "";
  if (protocol !== "smtp:" && protocol !== "smtps:") throw new Error("must be an smtp:// or smtps:// URL");
  return raw.trim();
};

/** `http://[user:password@]host:port`: an HTTP CONNECT proxy (the tunnel carries TLS itself). */
const proxyUrl: Parser<string | undefined> = (raw) => {
  const value = raw.trim();
  if (value === "") return undefined;
  if (!URL.canParse(value)) throw new Error(`must be http://[user:password@]host:port, got "${raw.replace(/\/\/[^@/]*@/, "//…@")}"`);
  const u = new URL(value);
  if (u.protocol !== "http:") throw new Error("must be an http:// URL (an HTTP CONNECT proxy; the tunnel carries TLS itself)");
  if (!u.port) throw new Error("must name the proxy's port, e.g. http://proxy.internal:3128");
  if ((u.pathname !== "/" && u.pathname !== "") || u.search || u.hash)
    throw new Error("must be http://[user:password@]host:port without a path, query or fragment");
  return value;
};

const retryDelays: Parser<number[]> = (raw) => {
  const parts = raw.split(",").map((p) => p.trim());
  if (parts.length === 1 && parts[0] === "") return [];
  if (parts.length > 20) throw new Error("at most 20 retries");
  return parts.map((p) => {
    if (!/^(\d+(\.\d+)?|\.\d+)$/.test(p)) throw new Error(`must be a comma list of seconds (decimals allowed), e.g. 1,10,100; got "${raw}"`);
    const seconds = Number(p);
    if (seconds > 7 * 24 * 3600) throw new Error("a retry delay may be at most 7 days");
    return Math.round(seconds * 1000);
  });
};

/** Every option, with its variable, flag, default and meaning. */
export const OPTIONS = {
  port: { env: "PORT", flag: "--port", default: 8080, doc: "HTTP port of the API and UI.", parse: int(0, 65535) },
  databaseUrl: {
    env: "DATABASE_URL",
    flag: "--database-url",
    default: "./data/hookline.db",
    doc: "A `postgres://` URL, or the path of the SQLite file (its folder is the data directory).",
    parse: (raw: string) => {
      const value = raw.trim();
      if (value === "") throw new Error("must not be empty");
      // Any other scheme (mysql://, https://…) would silently become an oddly named SQLite file.
      const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value)?.[1]?.toLowerCase();
      if (scheme && !["postgres", "postgresql", "sqlite"].includes(scheme)) {
        throw new Error(`must be a postgres:// URL or a SQLite file path, got a ${scheme}:// URL`);
      }
      return value;
    },
  },
  publicUrl: {
    env: "HOOKLINE_PUBLIC_URL",
    default: undefined as string | undefined,
    defaultText: "http://localhost:<port>",
    doc: "The address users reach Hookline at; used in portal links.",
    parse: publicUrl,
  },
  frameAncestors: {
    env: "HOOKLINE_FRAME_ANCESTORS",
    default: [] as string[],
    defaultText: `none (with \`--demo\`: the example host page, ${DEMO_FRAME_ANCESTORS.join(" ")})`,
    doc: "Origins, separated by spaces, whose pages may show the portal (`/portal`) in an iframe (CSP `frame-ancestors`); the embedded portal talks to them, and only to them, with `postMessage` (docs/host-apps.md). The admin UI and the API are never framed.",
    parse: frameAncestors,
  },
  adminToken: {
    env: "HOOKLINE_ADMIN_TOKEN",
    default: undefined as string | undefined,
    defaultText:
      "generated on first start and printed once: into the data directory on SQLite; on PostgreSQL stored (as its SHA-256) in the database, and used by every node started without one",
    doc: "The admin bearer token (at least 16 characters).",
    parse: (raw: string) => {
      if (raw.trim().length < 16) throw new Error("must be at least 16 characters");
      // It travels as `Authorization: Bearer <token>`, which cannot carry spaces or control characters.
      if (!/^[\x21-\x7e]+$/.test(raw.trim())) throw new Error("must be printable ASCII without spaces");
      return raw.trim();
    },
  },
  secretKey: {
    env: "HOOKLINE_SECRET_KEY",
    default: undefined as string | undefined,
    defaultText:
      "generated into the data directory on SQLite; on PostgreSQL generated once into the database (sealed with HOOKLINE_ENCRYPTION_KEY when set) and shared by every node started without one",
    doc: "Key that signs portal tokens (at least 32 characters).",
    parse: (raw: string) => {
      if (raw.trim().length < 32) throw new Error("must be at least 32 characters");
      return raw.trim();
    },
  },
  encryptionKey: {
    env: "HOOKLINE_ENCRYPTION_KEY",
    default: null as KeyRing | null,
    defaultText: "unset: secrets stored in plaintext (a warning at start)",
    doc: "Encrypts webhook secrets at rest (AES-256-GCM): a base64 32-byte key, or `id:key,id:key` with the current key first; `hookline rotate-key` re-seals old secrets.",
    parse: parseKeyRing,
  },
  retryDelaysMs: {
    env: "HOOKLINE_RETRY_DELAYS",
    default: [1000, 10_000, 100_000],
    defaultText: "1,10,100",
    doc: "Seconds to wait before each retry of a failed attempt (decimals allowed).",
    parse: retryDelays,
  },
  timeoutMs: { env: "HOOKLINE_TIMEOUT_MS", default: 10_000, doc: "Timeout of one delivery attempt, in ms.", parse: int(100, 600_000) },
  maxActiveWebhooks: {
    env: "HOOKLINE_MAX_ACTIVE_WEBHOOKS",
    default: 5,
    doc: "How many enabled webhooks one project may have.",
    parse: int(1, 1000),
  },
  logRetentionDays: {
    env: "HOOKLINE_LOG_RETENTION_DAYS",
    default: 14,
    doc: "Days a delivery log entry is kept.",
    parse: int(1, 3650),
  },
  allowHttp: { env: "HOOKLINE_ALLOW_HTTP", default: false, doc: "Accept http:// webhook URLs (development only).", parse: bool },
  allowPrivateNetworks: {
    env: "HOOKLINE_ALLOW_PRIVATE_NETWORKS",
    default: { allowPrivateNetworks: false, allowedCidrs: [] as string[] },
    defaultText: "false",
    doc: "`true` to allow private, loopback and link-local targets, or a comma list of CIDRs to allow.",
    parse: parseAllowPrivateNetworks,
  },
  eventTypesFile: {
    env: "HOOKLINE_EVENT_TYPES",
    default: undefined as string | undefined,
    defaultText: "the built-in test-management catalog",
    doc: "Path of a JSON file with the event catalog (see README).",
    parse: optionalText,
  },
  notifyUrl: {
    env: "HOOKLINE_NOTIFY_URL",
    default: undefined as string | undefined,
    doc: "Operator callback: receives a signed `webhook.disabled` POST when a webhook is auto-disabled.",
    parse: httpUrl,
  },
  notifySecret: {
    env: "HOOKLINE_NOTIFY_SECRET",
    default: undefined as string | undefined,
    defaultText: "derived from the secret key",
    doc: "Secret that signs the operator callback (same headers as deliveries). Set it to verify callbacks.",
    parse: optionalText,
  },
  otlpEndpoint: {
    env: "OTEL_EXPORTER_OTLP_ENDPOINT",
    default: undefined as string | undefined,
    defaultText: "unset: no tracing",
    doc: "OpenTelemetry: export traces over OTLP/HTTP to this base URL (`/v1/traces` is appended; `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, `OTEL_SERVICE_NAME`, `OTEL_BSP_*` and the other standard variables apply). A span per publish and per attempt, the attempt a child of its publish; each attempt sends a W3C `traceparent` header.",
    parse: httpUrl,
  },
  proxyUrl: {
    env: "HOOKLINE_PROXY_URL",
    default: undefined as string | undefined,
    defaultText: "unset: direct connections",
    doc: "`http://[user:password@]host:port` of an HTTP CONNECT proxy that every delivery attempt and OAuth2 token request goes through (fixed egress addresses). Hookline still resolves and checks each target itself and asks the proxy to CONNECT to the checked address; TLS still verifies the target's name. Credentials in the URL are sent as `Proxy-Authorization: Basic`.",
    parse: proxyUrl,
  },
  smtpUrl: { env: "SMTP_URL", default: undefined as string | undefined, doc: "SMTP server for notification e-mails.", parse: smtpUrl },
  smtpFrom: { env: "SMTP_FROM", default: "Hookline <hookline@localhost>", doc: "Sender of notification e-mails.", parse: text },
  worker: {
    env: "HOOKLINE_WORKER",
    flag: "--no-worker",
    default: true,
    doc: "Run the delivery worker inside `serve` (`--no-worker` for API-only nodes).",
    parse: bool,
  },
  concurrency: {
    env: "HOOKLINE_CONCURRENCY",
    flag: "--concurrency",
    // Attempts are I/O: hundreds of idle sockets cost little memory and no CPU, and a large pool is
    // what lets healthy webhooks keep going while others hang (docs/performance.md).
    default: 256,
    doc: "Delivery attempts one worker makes at once. Webhooks whose attempts time out may hold at most half of them.",
    parse: int(1, 10_000),
  },
  senderThreads: {
    env: "HOOKLINE_SENDER_THREADS",
    // The main thread claims, records and serves the API; one sender thread per two cores leaves it a core of its own.
    default: Math.max(1, Math.min(4, Math.floor(availableParallelism() / 2))),
    defaultText: "half the CPUs, from 1 to 4",
    doc: "Threads that sign and send a worker's delivery attempts (TLS, HTTP, signatures), beside the thread that claims them, records them and serves the API. Each thread keeps its own connections: one keep-alive pool per webhook (a webhook never waits for another's connections, even on a shared host), at most `HOOKLINE_WEBHOOK_CONCURRENCY` sockets each.",
    parse: int(1, 64),
  },
  metricsPort: {
    env: "HOOKLINE_METRICS_PORT",
    flag: "--metrics-port",
    default: undefined as number | undefined,
    defaultText: "unset: off",
    doc: "`hookline worker`: port of a small HTTP server with `/metrics`, `/healthz` and `/readyz` (no auth), for a worker node's scraper and probes.",
    parse: optionalInt(0, 65535),
  },
  poolSize: {
    env: "HOOKLINE_DB_POOL_SIZE",
    default: 10,
    doc: "PostgreSQL connections one process may open (attempts in flight hold none; see docs/scaling.md).",
    parse: int(1, 1000),
  },
  dbLockTimeoutMs: {
    env: "HOOKLINE_DB_LOCK_TIMEOUT_MS",
    default: 5000,
    doc: "PostgreSQL `lock_timeout`: a statement waiting longer for a lock (another session's `LOCK TABLE`, say) fails, and the API answers `503 unavailable` with `Retry-After` instead of hanging. 0 waits forever. Migrations are exempt.",
    parse: int(0, 3_600_000),
  },
  dbStatementTimeoutMs: {
    env: "HOOKLINE_DB_STATEMENT_TIMEOUT_MS",
    default: 30_000,
    doc: "PostgreSQL `statement_timeout` of this process's statements (API requests, the worker's claims and updates); beyond it the API answers `503 unavailable`. 0: no limit. Migrations are exempt.",
    parse: int(0, 3_600_000),
  },
  pgPooler: {
    env: "HOOKLINE_PG_POOLER",
    default: undefined as "transaction" | undefined,
    defaultText: "unset: a direct connection, or a pooler in session mode",
    doc:
      "`transaction` when `DATABASE_URL` goes through a connection pooler in transaction mode (PgBouncer's `pool_mode = transaction`): no session state survives a transaction, so Hookline prepares no named statements, sets the lock and statement timeouts per transaction (`SET LOCAL`), and takes only transaction-scoped locks. " +
      "Migrations run through the pooler. Wake-ups then come from `HOOKLINE_PG_LISTEN_URL`, or by polling (see docs/scaling.md).",
    parse: (raw: string) => {
      const v = raw.trim().toLowerCase();
      if (v === "") return undefined;
      if (v !== "transaction") throw new Error(`must be "transaction" (or empty), got "${raw}"`);
      return v;
    },
  },
  pgListenUrl: {
    env: "HOOKLINE_PG_LISTEN_URL",
    default: undefined as string | undefined,
    defaultText: "unset: `DATABASE_URL`, or polling with `HOOKLINE_PG_POOLER=transaction`",
    doc: "A direct `postgres://` connection to the same database (not through a transaction-mode pooler), for the worker's LISTEN connection that wakes it within milliseconds of a publish on another node.",
    parse: (raw: string) => {
      if (raw.trim() === "") return undefined;
      if (!/^postgres(ql)?:\/\//i.test(raw.trim())) throw new Error("must be a postgres:// URL");
      return raw.trim();
    },
  },
  perWebhookConcurrency: {
    env: "HOOKLINE_WEBHOOK_CONCURRENCY",
    // A hanging endpoint holds 16 only until its first attempts time out (domain/inflight-limit.ts).
    default: 16,
    doc: "Attempts in flight to one webhook at once, across all worker processes (counted from the leases in the database), so a slow endpoint cannot take every slot. Halved (down to 1) each time an attempt to that webhook times out, raised by one per successful attempt.",
    parse: int(1, 1000),
  },
  rateLimit: {
    env: "HOOKLINE_RATE_LIMIT",
    default: 600,
    doc:
      "API requests per minute per portal token, and per client address for requests without a valid token; beyond it the API answers `429 rate_limited` with `Retry-After`. " +
      "A full minute's budget may be spent in a burst. The admin token is never limited, so a host app can publish thousands of events per second. Counted per process. 0 turns limiting off.",
    parse: int(0, 1_000_000),
  },
  demo: { env: "HOOKLINE_DEMO", flag: "--demo", default: false, doc: "Create the `demo` project and allow loopback http targets.", parse: bool },
  logLevel: {
    env: "LOG_LEVEL",
    default: "info",
    doc: "pino log level.",
    parse: (raw: string) => {
      const levels = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];
      if (!levels.includes(raw.trim())) throw new Error(`must be one of ${levels.join(", ")}`);
      return raw.trim();
    },
  },
} satisfies Record<string, OptionDef<unknown>>;

type Options = typeof OPTIONS;
export type RawConfig = { [K in keyof Options]: ReturnType<Options[K]["parse"]> | Options[K]["default"] };

export interface ResolvedConfig extends Omit<RawConfig, "publicUrl"> {
  publicUrl: string;
  urlPolicy: UrlPolicy;
  /**
   * SQLite: the folder of the database file, where a generated admin token and secret key are kept.
   * PostgreSQL: null. Generated credentials live in the database (services/cluster-credentials.ts),
   * and a node never reads a folder: ./data of its working directory is the SQLite demo's.
   */
  dataDir: string | null;
  dialect: "sqlite" | "postgres";
}

/** Values given explicitly (flags, library options) win over the environment. */
export type ConfigOverrides = Partial<{ [K in keyof Options]: string | number | boolean | undefined }>;

export function resolveConfig(env: NodeJS.ProcessEnv = process.env, overrides: ConfigOverrides = {}): ResolvedConfig {
  const out: Record<string, unknown> = {};
  for (const [key, def] of Object.entries(OPTIONS) as [keyof Options, OptionDef<unknown>][]) {
    const given = overrides[key];
    const raw = given !== undefined ? String(given) : env[def.env];
    if (raw === undefined) {
      out[key] = def.default;
      continue;
    }
    try {
      out[key] = def.parse(raw);
    } catch (err) {
      throw new ConfigError(given !== undefined && def.flag ? `${def.flag} (${def.env})` : def.env, (err as Error).message);
    }
  }
  const raw = out as RawConfig;
  const dialect = /^postgres(ql)?:\/\//i.test(raw.databaseUrl) ? "postgres" : "sqlite";
  const demoAllowance = raw.demo && !raw.allowPrivateNetworks.allowPrivateNetworks;
  return {
    ...raw,
    publicUrl: raw.publicUrl ?? `http://localhost:${raw.port}`,
    frameAncestors: raw.frameAncestors.length || !raw.demo ? raw.frameAncestors : DEMO_FRAME_ANCESTORS,
    dialect,
    // The store accepts `sqlite:` / `sqlite://` before the path; the data directory is the file's folder.
    dataDir: dialect === "sqlite" ? dirnameOf(raw.databaseUrl.replace(/^sqlite:(\/\/)?/, "")) : null,
    urlPolicy: {
      allowHttp: raw.allowHttp || raw.demo,
      allowPrivateNetworks: raw.allowPrivateNetworks.allowPrivateNetworks,
      allowedCidrs: demoAllowance ? [...raw.allowPrivateNetworks.allowedCidrs, "127.0.0.0/8", "::1/128"] : raw.allowPrivateNetworks.allowedCidrs,
    },
  };
}

function dirnameOf(file: string): string {
  if (file === ":memory:") return "./data";
  const i = file.replace(/\\/g, "/").lastIndexOf("/");
  return i <= 0 ? (i === 0 ? "/" : ".") : file.slice(0, i);
}
