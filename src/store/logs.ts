import type { Kysely } from "kysely";
import type { Database, LogEntryRow } from "./schema.js";

type Db = Kysely<Database>;

export interface LogQuery {
  webhookId: string;
  limit: number;
  /** The id of the last entry of the previous page (ids sort by time). */
  before?: string;
  success?: boolean;
  event?: string;
}

const SUMMARY_COLUMNS = [
  "id",
  "webhook_id",
  "delivery_id",
  "project_id",
  "event",
  "attempt",
  "trigger",
  "success",
  "status_code",
  "error",
  "duration_ms",
  "created_at",
] as const;

/** Newest first, bodies left out; one extra row tells whether there is a next page. */
export async function listLogEntries(db: Db, q: LogQuery): Promise<Omit<LogEntryRow, "request" | "response">[]> {
  let query = db.selectFrom("log_entries").select(SUMMARY_COLUMNS).where("webhook_id", "=", q.webhookId);
  if (q.before) query = query.where("id", "<", q.before);
  if (q.success !== undefined) query = query.where("success", "=", q.success ? 1 : 0);
  if (q.event) query = query.where("event", "=", q.event);
  return query.orderBy("id", "desc").limit(q.limit + 1).execute();
}

export async function findLogEntry(db: Db, webhookId: string, id: string): Promise<LogEntryRow | undefined> {
  return db.selectFrom("log_entries").selectAll().where("webhook_id", "=", webhookId).where("id", "=", id).executeTakeFirst();
}

export async function insertLogEntries(db: Db, rows: LogEntryRow[]): Promise<void> {
  if (rows.length) await db.insertInto("log_entries").values(rows).execute();
}

/** Attempts of the last `hours` hours, for the detail page's chart. */
export async function attemptsSince(db: Db, webhookId: string, since: number) {
  return db
    .selectFrom("log_entries")
    .select(["created_at", "success", "duration_ms"])
    .where("webhook_id", "=", webhookId)
    .where("created_at", ">=", since)
    .execute();
}
