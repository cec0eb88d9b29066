/**
 * The query-key factory: every API answer the UI caches is named here. A key is the request itself,
 * `[path, query]`, so two different answers can never share a cache entry (the overview's list with
 * `include=last_delivery` and the settings page's plain list are two keys), and `[path]` alone covers
 * every query variant of one path, for patching or invalidating them together.
 */
export type ApiKey = readonly [path: string, query: Readonly<Record<string, string>>];

const enc = encodeURIComponent;
const key = (path: string, query: Record<string, string | undefined> = {}): ApiKey => [
  path,
  Object.fromEntries(Object.entries(query).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== "")),
];
const project = (projectId: string) => `/projects/${enc(projectId)}`;
const webhook = (projectId: string, webhookId: string) => `${project(projectId)}/webhooks/${enc(webhookId)}`;

export interface LogFilter {
  limit: number;
  success?: "" | "true" | "false";
  event?: string;
  /** A status code or a class (`5xx`). */
  status_code?: string;
  /** ISO instants. */
  from?: string;
  to?: string;
  event_id?: string;
}

export const keys = {
  me: () => key("/me"),
  projects: () => key("/projects"),
  eventTypes: () => key("/event-types"),
  project: (projectId: string) => key(project(projectId)),
  webhooks: (projectId: string, opts: { lastDelivery?: boolean } = {}) =>
    key(`${project(projectId)}/webhooks`, { include: opts.lastDelivery ? "last_delivery" : undefined }),
  webhook: (projectId: string, webhookId: string) => key(webhook(projectId, webhookId)),
  logs: (projectId: string, webhookId: string, f: LogFilter) => key(`${webhook(projectId, webhookId)}/logs`, { ...f, limit: String(f.limit) }),
  log: (projectId: string, webhookId: string, logId: string) => key(`${webhook(projectId, webhookId)}/logs/${enc(logId)}`),
  stats: (projectId: string, webhookId: string, hours: number) => key(`${webhook(projectId, webhookId)}/stats`, { hours: String(hours) }),
  notifications: (projectId: string) => key(`${project(projectId)}/notifications`),
  event: (projectId: string, eventId: string) => key(`${project(projectId)}/events/${enc(eventId)}`),
};

/** Every cached variant of `key`'s path (a prefix for `setQueriesData` / `invalidateQueries`). */
export const samePath = (k: ApiKey): readonly [string] => [k[0]];

/** The request path (under /api/v1) a key stands for. */
export function apiPath([path, query]: ApiKey): string {
  const search = new URLSearchParams(query).toString();
  return search ? `${path}?${search}` : path;
}
