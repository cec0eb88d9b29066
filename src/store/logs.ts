import { sql, type Kysely } from "kysely";
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
  // A literal, not a parameter: the planners use the partial index of failures only for `success = 0`.
  if (q.success !== undefined) query = query.where("success", "=", sql.lit(q.success ? 1 : 0));
  if (q.event) query = query.where("event", "=", q.event);
  return query.orderBy("id", "desc").limit(q.limit + 1).execute();
}

export async function findLogEntry(db: Db, webhookId: string, id: string): Promise<LogEntryRow | undefined> {
  return db.selectFrom("log_entries").selectAll().where("webhook_id", "=", webhookId).where("id", "=", id).executeTakeFirst();
}

export async function insertLogEntries(db: Db, rows: LogEntryRow[]): Promise<void> {
  if (rows.length) await db.insertInto("log_entries").values(rows).execute();
}

/** Attempts of the last `hours` hours, for the detail page's chart (from log_entries_webhook_time alone). */
export async function attemptsSince(db: Db, webhookId: string, since: number) {
  return db
    .selectFrom("log_entries")
    .select(["created_at", "success", "duration_ms"])
    .where("webhook_id", "=", webhookId)
    .where("created_at", ">=", since)
    .execute();
}

export interface WebhookFailures {
  webhook_id: string;
  project_id: string;
  attempts: number;
  failures: number;
}

/**
 * Attempts and failures per webhook since `since`, for webhooks with at least one failure (the
 * most failing first, at most `limit`): the per-webhook failure ratio the metrics export.
 */
export async function recentFailuresByWebhook(db: Db, since: number, limit: number): Promise<WebhookFailures[]> {
  const rows = await db
    .selectFrom("log_entries")
    .select((eb) => [
      "webhook_id",
      "project_id",
      eb.fn.countAll<number>().as("attempts"),
      eb.fn.sum<number>(eb.case().when("success", "=", 0).then(1).else(0).end()).as("failures"),
    ])
    .where("created_at", ">=", since)
    .groupBy(["webhook_id", "project_id"])
    .having((eb) => eb.fn.sum(eb.case().when("success", "=", 0).then(1).else(0).end()), ">", 0)
    .orderBy("failures", "desc")
    .limit(limit)
    .execute();
  return rows.map((r) => ({ webhook_id: r.webhook_id, project_id: r.project_id, attempts: Number(r.attempts), failures: Number(r.failures) }));
}
