/**
 * The store's side of fan-out (domain/fan-out.ts holds the rule): the webhook rows the rule reads,
 * read the same way by every publish path and by recover, and the rule as SQL for PostgreSQL's
 * one-statement publish.
 */
import type { Kysely } from "kysely";
import { fanOut, type FanOutEvent, type FanOutWebhook } from "../domain/fan-out.js";
import { fixedRows, fixedStatement } from "./fixed-statement.js";
import type { Database } from "./schema.js";

type Db = Kysely<Database>;

/** What the rule reads of a webhook. */
export interface FanOutRow {
  id: string;
  enabled: number;
  events: string;
}

export const FAN_OUT_COLUMNS = "id, enabled, events";

export function fanOutWebhook(row: FanOutRow): FanOutWebhook {
  return { id: row.id, enabled: row.enabled === 1, events: JSON.parse(row.events) as string[], filter: null };
}

/** Enabled webhooks of the project (index webhooks_project): the only ones fan-out can choose. */
const ENABLED_WEBHOOKS = fixedStatement({
  sqlite: `select ${FAN_OUT_COLUMNS} from webhooks where project_id = ? and enabled = 1`,
  postgres: `select ${FAN_OUT_COLUMNS} from webhooks where project_id = $1 and enabled = 1`,
});

/** The webhooks of the project that get the event, read inside the caller's transaction. */
export async function fanOutWebhookIds(db: Db, projectId: string, e: FanOutEvent): Promise<string[]> {
  const rows = await fixedRows<FanOutRow>(db, ENABLED_WEBHOOKS, [projectId]);
  return fanOut(rows.map(fanOutWebhook), e);
}

/**
 * The rule as a PostgreSQL query, for the one-statement publish (postgres/publish-event.ts): the
 * enabled webhooks of `project` subscribed to `event` (placeholders of the caller's statement).
 * It must choose what `fanOut` chooses; the publish tests run both paths on the same cases.
 */
export const subscribedPostgresText = (project: string, event: string) =>
  `select id from webhooks where project_id = ${project} and enabled = 1 and events::jsonb ? ${event}`;
