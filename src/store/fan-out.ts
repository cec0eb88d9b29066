/**
 * The store's side of fan-out (domain/fan-out.ts holds the rule): the webhook rows the rule reads,
 * read the same way by every publish path and by recover, and the rule as SQL for PostgreSQL's
 * one-statement publish.
 *
 * Payload filters are matched in JavaScript (domain/payload-filter.ts), never in SQL. The
 * one-statement publish stays one statement for webhooks without a filter: it delivers to them in
 * SQL as before, and to a filtered webhook only when the caller names it as matched. The caller
 * knows the project's filtered webhooks from the last time a publish read them (below, `known`),
 * and the statement checks that knowledge against the rows it reads (each filtered webhook's id and
 * the md5 of its filter): if a filter was added or changed since, it writes nothing and the caller
 * publishes through the transaction, which reads the rows afresh and refreshes what is known.
 */
import { createHash } from "node:crypto";
import type { Kysely } from "kysely";
import { fanOut, whyNotDelivered, type FanOutEvent, type FanOutWebhook } from "../domain/fan-out.js";
import { compileFilter } from "../domain/payload-filter.js";
import { fixedRows, fixedStatement } from "./fixed-statement.js";
import type { Database } from "./schema.js";

type Db = Kysely<Database>;

/** What the rule reads of a webhook. */
export interface FanOutRow {
  id: string;
  enabled: number;
  events: string;
  filter?: string | null;
}

export const FAN_OUT_COLUMNS = "id, enabled, events, filter";

export function fanOutWebhook(row: FanOutRow): FanOutWebhook {
  return { id: row.id, enabled: row.enabled === 1, events: JSON.parse(row.events) as string[], filter: row.filter ? compileFilter(row.filter) : null };
}

/** Enabled webhooks of the project (index webhooks_project): the only ones fan-out can choose. */
const ENABLED_WEBHOOKS = fixedStatement({
  sqlite: `select ${FAN_OUT_COLUMNS} from webhooks where project_id = ? and enabled = 1`,
  postgres: `select ${FAN_OUT_COLUMNS} from webhooks where project_id = $1 and enabled = 1`,
});

/** The webhooks of the project that get the event, read inside the caller's transaction. */
export async function fanOutWebhookIds(db: Db, projectId: string, e: FanOutEvent): Promise<string[]> {
  const rows = await fixedRows<FanOutRow>(db, ENABLED_WEBHOOKS, [projectId]);
  remember(projectId, rows);
  return fanOut(rows.map(fanOutWebhook), e);
}

/** Per project with filtered webhooks: those webhooks as last read, each with its version (id:md5 of the filter). */
const known = new Map<string, { version: string; hook: FanOutWebhook }[]>();
const KNOWN_PROJECTS_MAX = 10_000;

const versionOf = (id: string, filter: string) => `${id}:${createHash("md5").update(filter).digest("hex")}`;

function remember(projectId: string, rows: FanOutRow[]): void {
  const filtered = rows.filter((r) => r.filter);
  known.delete(projectId);
  if (filtered.length === 0) return;
  if (known.size >= KNOWN_PROJECTS_MAX) known.delete(known.keys().next().value!);
  known.set(
    projectId,
    filtered.map((r) => ({ version: versionOf(r.id, r.filter!), hook: fanOutWebhook(r) })),
  );
}

/** For the one-statement publish: the known filtered webhooks that get the event, and the versions the statement must find. */
export function knownFiltered(projectId: string, e: FanOutEvent): { matched: string[]; versions: string[] } {
  const list = known.get(projectId) ?? [];
  return { matched: list.filter((k) => whyNotDelivered(k.hook, e) === null).map((k) => k.hook.id), versions: list.map((k) => k.version) };
}

/**
 * The rule as PostgreSQL CTEs for the one-statement publish (postgres/publish-event.ts), named
 * `sub` (enabled and subscribed; `unknown`: a filter the caller does not know) and `hooks` (those
 * that get the event, numbered). It must choose what `fanOut` chooses; the publish tests run both
 * paths on the same cases.
 */
export const fanOutPostgresText = (p: { project: string; event: string; matched: string; versions: string }) => `
    sub as (
      select id, filter is null as plain, filter is not null and not (id || ':' || md5(filter)) = any(${p.versions}) as unknown
        from webhooks
       where project_id = ${p.project} and enabled = 1 and events::jsonb ? ${p.event}),
    hooks as (select id, row_number() over (order by id) as n from sub where plain or id = any(${p.matched}))`;
