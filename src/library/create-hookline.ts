/**
 * `createHookline()`: Hookline inside a Node host app. One Runtime (the same assembly `hookline
 * serve` uses) plus typed wrappers over the services, and an AsyncLocalStorage scope for imports.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { OPTIONS, resolveConfig, type ConfigOverrides } from "../config.js";
import { Runtime } from "../runtime.js";
import { listEventTypes, putEventType } from "../services/event-types.js";
import { getLog, listLogs } from "../services/logs.js";
import { listNotifications, readNotification } from "../services/notifications.js";
import { createPortalSession } from "../services/portal-sessions.js";
import { deleteProject, getProject, listProjects, putProject } from "../services/projects.js";
import { publish, redeliver, testWebhook } from "../services/publish.js";
import { createWebhook, deleteWebhook, getWebhook, listWebhooks, revealSecret, updateWebhook } from "../services/webhooks.js";
import type {
  EventMap,
  EventName,
  EventType,
  HooklineConfig,
  HooklineOptions,
  ListenOptions,
  LogEntry,
  LogPage,
  LogQuery,
  Notification,
  PortalLink,
  PortalLinkOptions,
  Project,
  ProjectInput,
  PublishOptions,
  PublishResult,
  Webhook,
  WebhookInput,
  WebhookList,
} from "./types.js";

export interface Hookline<E extends object = EventMap> {
  /**
   * The admin token of this Hookline (for the UI and the HTTP API); null on PostgreSQL when another
   * node generated it (only its hash is stored): set `adminToken` to share a known one.
   */
  readonly adminToken: string | null;
  /** `publicUrl` as resolved (after `listen()` on a defaulted one, with the bound port). */
  readonly publicUrl: string;
  /**
   * Publishes an event: stores it and queues one delivery per enabled webhook of the project that
   * subscribes to it, in one transaction. Inside `withoutWebhooks` it is accepted and skipped.
   */
  publish<K extends EventName<E>>(projectId: string, event: K, subject: E[K], opts?: PublishOptions): Promise<PublishResult>;
  /**
   * Runs `fn`; every `publish` made inside it — across awaits, and only inside — is skipped
   * (`{ id: null, deliveries: 0, skipped: "import" }`). For bulk imports and migrations.
   */
  withoutWebhooks<T>(fn: () => T | Promise<T>): Promise<T>;
  /** Starts the HTTP API and UI (and the worker unless `worker: false`), as `hookline serve`; answers the address. */
  listen(opts?: ListenOptions): Promise<string>;
  /** Starts the delivery worker in this process (`listen()` does it too). */
  startWorker(opts?: { concurrency?: number }): void;
  /** Stops the API, lets in-flight attempts finish (up to the attempt timeout), closes the database. */
  close(): Promise<void>;
  /** A link that opens the UI for one project only. */
  portalLink(projectId: string, opts?: PortalLinkOptions): Promise<PortalLink>;
  projects: {
    /** Creates or updates (by the host app's own id). */
    put(projectId: string, input: ProjectInput): Promise<Project>;
    get(projectId: string): Promise<Project>;
    list(): Promise<Project[]>;
    /** Deletes the project with all its webhooks, logs and notifications. */
    delete(projectId: string): Promise<void>;
  };
  webhooks: {
    create(projectId: string, input: WebhookInput<E>): Promise<Webhook>;
    list(projectId: string): Promise<WebhookList>;
    get(projectId: string, webhookId: string): Promise<Webhook>;
    update(projectId: string, webhookId: string, input: Partial<WebhookInput<E>>): Promise<Webhook>;
    delete(projectId: string, webhookId: string): Promise<void>;
    /** Queues one `test-event` delivery (single attempt). */
    test(projectId: string, webhookId: string): Promise<{ delivery_id: string }>;
    secret(projectId: string, webhookId: string): Promise<{ secret: string | null }>;
  };
  logs: {
    /** Newest first, without request/response bodies. */
    list(projectId: string, webhookId: string, query?: LogQuery): Promise<LogPage>;
    get(projectId: string, webhookId: string, logId: string): Promise<LogEntry>;
    /** Queues a new single attempt of the same body. */
    redeliver(projectId: string, webhookId: string, logId: string): Promise<{ delivery_id: string }>;
  };
  notifications: {
    list(projectId: string): Promise<Notification[]>;
    markRead(projectId: string, notificationId: string): Promise<Notification>;
  };
  eventTypes: {
    list(): Promise<EventType[]>;
    /** Adds or changes a catalog entry. */
    put(name: string, input: { description: string; example?: unknown }): Promise<EventType>;
  };
}

/** Typed library options → the raw strings the configuration table parses (flags and env share it). */
function toOverrides(config: HooklineConfig): ConfigOverrides {
  const { retryDelaysMs, allowPrivateNetworks, ...plain } = config;
  const out: ConfigOverrides = { ...plain };
  if (retryDelaysMs !== undefined) out.retryDelaysMs = retryDelaysMs.map((ms) => ms / 1000).join(",");
  if (allowPrivateNetworks !== undefined) {
    out.allowPrivateNetworks = Array.isArray(allowPrivateNetworks) ? allowPrivateNetworks.join(",") : allowPrivateNetworks;
  }
  return out;
}

export async function createHookline<E extends object = EventMap>(options: HooklineOptions = {}): Promise<Hookline<E>> {
  const { env = {}, logger, ca, ...config } = options;
  // A misspelt option would otherwise be ignored silently (plain JavaScript callers have no types).
  const unknown = Object.keys(config).filter((k) => !(k in OPTIONS));
  if (unknown.length) {
    throw new TypeError(
      `Unknown createHookline option ${unknown.map((k) => `"${k}"`).join(", ")}; known: env, logger, ca, ${Object.keys(OPTIONS).join(", ")}.`,
    );
  }
  const overrides = toOverrides(config);
  // Validate before opening anything, so a bad option fails with the option's name.
  resolveConfig(env, overrides);
  const runtime = await Runtime.start({ config: overrides, env, logger, ca });
  return makeHookline<E>(runtime, { publicUrlGiven: overrides.publicUrl !== undefined || env.HOOKLINE_PUBLIC_URL !== undefined });
}

function makeHookline<E extends object>(runtime: Runtime, o: { publicUrlGiven: boolean }): Hookline<E> {
  const ctx = runtime.ctx;
  const importScope = new AsyncLocalStorage<true>();
  let closed = false;
  let publicUrl = runtime.config.publicUrl;
  const open = () => {
    if (closed) throw new Error("This Hookline is closed; create a new one with createHookline().");
  };
  const guard =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      open();
      return fn(...args);
    };

  return {
    adminToken: runtime.creds.adminToken,
    get publicUrl() {
      return publicUrl;
    },
    async publish(projectId, event, subject, opts = {}) {
      open();
      const source = importScope.getStore() ? "import" : (opts.source ?? "app");
      return publish(ctx, projectId, { event, subject, source }, opts.idempotencyKey, undefined, opts.client);
    },
    withoutWebhooks(fn) {
      // async wrapper: a synchronous throw becomes a rejection, like every other method here.
      return importScope.run(true, async () => fn());
    },
    listen: guard(async (opts = {}) => {
      const address = await runtime.listen(opts.port ?? runtime.config.port, opts.host ?? "0.0.0.0");
      if (!o.publicUrlGiven) publicUrl = `http://localhost:${new URL(address).port}`;
      if (runtime.config.worker) runtime.startWorker();
      return address;
    }),
    startWorker(opts = {}) {
      open();
      runtime.startWorker(opts);
    },
    async close() {
      closed = true;
      await runtime.close();
    },
    portalLink: guard((projectId, opts = {}) => createPortalSession(ctx, runtime.creds.secretKey, projectId, { ...opts, publicUrl })),
    projects: {
      put: guard(async (projectId, input) => (await putProject(ctx, projectId, input)).project),
      get: guard((projectId) => getProject(ctx, projectId)),
      list: guard(() => listProjects(ctx)),
      delete: guard((projectId) => deleteProject(ctx, projectId)),
    },
    webhooks: {
      create: guard((projectId, input) => createWebhook(ctx, projectId, input)),
      list: guard((projectId) => listWebhooks(ctx, projectId)),
      get: guard((projectId, id) => getWebhook(ctx, projectId, id)),
      update: guard((projectId, id, input) => updateWebhook(ctx, projectId, id, input)),
      delete: guard((projectId, id) => deleteWebhook(ctx, projectId, id)),
      test: guard((projectId, id) => testWebhook(ctx, projectId, id)),
      secret: guard((projectId, id) => revealSecret(ctx, projectId, id)),
    },
    logs: {
      list: guard((projectId, webhookId, q = {}) => listLogs(ctx, projectId, webhookId, q)),
      get: guard((projectId, webhookId, logId) => getLog(ctx, projectId, webhookId, logId)),
      redeliver: guard((projectId, webhookId, logId) => redeliver(ctx, projectId, webhookId, logId)),
    },
    notifications: {
      list: guard((projectId) => listNotifications(ctx, projectId)),
      markRead: guard((projectId, id) => readNotification(ctx, projectId, id)),
    },
    eventTypes: {
      list: guard(() => listEventTypes(ctx)),
      put: guard((name, input) => putEventType(ctx, name, input)),
    },
  };
}
