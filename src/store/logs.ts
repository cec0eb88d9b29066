import { sql, type Kysely } from "kysely";
import { encodeTime } from "../domain/ids.js";
import type { Database, LogEntryRow, Trigger } from "./schema.js";
import { fixedRun, fixedStatement, isSqlite } from "./fixed-statement.js";
import { applyRollupDeltas, rollupDeltas } from "./log-rollups.js";

type Db = Kysely<Database>;

/** The log's filters; all combine with AND. */
export interface LogFilter {
  success?: boolean;
  event?: string;
  /** created_at bounds, epoch ms, both inclusive. */
  from?: number;
  to?: number;
  /** Status codes from `min` to `max` inclusive (one code, or a class such as 400..499). */
  status?: { min: number; max: number };
  eventId?: string;
  deliveryId?: string;
  trigger?: Trigger;
}

export interface LogQuery extends LogFilter {
  webhookId: string;
  limit: number;
  /** The id of the last entry of the previous page (ids sort by time). */
  before?: string;
}

const SUMMARY_COLUMNS = [
  "l.id",
  "l.webhook_id",
  "l.delivery_id",
  "l.project_id",
  "l.event",
  "l.attempt",
  "l.trigger",
  "l.success",
  "l.status_code",
  "l.error",
  "l.duration_ms",
  "l.created_at",
] as const;

/**
 * The filtered entries of one webhook, newest first (ids sort by time), from `before`. Each filter
 * has an index that starts with webhook_id (migrations 0005, 0013), so a rare value is found without
 * walking the webhook's whole log; `event_id` goes through the event's deliveries.
 */
function filtered(db: Db, q: LogQuery) {
  return (
    db
      .selectFrom("log_entries as l")
      .leftJoin("deliveries as d", "d.id", "l.delivery_id")
      .where("l.webhook_id", "=", q.webhookId)
      .$if(q.before !== undefined, (qb) => qb.where("l.id", "<", q.before!))
      // A literal, not a parameter: the planners use the partial index of failures (0007) only for `success = 0`.
      .$if(q.success !== undefined, (qb) => qb.where("l.success", "=", sql.lit(q.success ? 1 : 0)))
      .$if(q.event !== undefined, (qb) => qb.where("l.event", "=", q.event!))
      .$if(q.from !== undefined, (qb) => qb.where("l.created_at", ">=", q.from!))
      .$if(q.from !== undefined && q.from > 0, (qb) => qb.where("l.id", ">=", logIdFloor(q.from!)))
      .$if(q.to !== undefined, (qb) => qb.where("l.created_at", "<=", q.to!))
      .$if(q.status !== undefined, (qb) =>
        q.status!.min === q.status!.max
          ? qb.where("l.status_code", "=", q.status!.min)
          : qb.where("l.status_code", ">=", q.status!.min).where("l.status_code", "<=", q.status!.max),
      )
      .$if(q.deliveryId !== undefined, (qb) => qb.where("l.delivery_id", "=", q.deliveryId!))
      .$if(q.eventId !== undefined, (qb) =>
        qb.where("l.delivery_id", "in", (eb) =>
          eb.selectFrom("deliveries").select("id").where("event_id", "=", q.eventId!).where("webhook_id", "=", q.webhookId),
        ),
      )
      // A literal: PostgreSQL's trigger index holds the rare triggers only (migration 0013), and the
      // planner uses it only when it sees that the value is one of them. `event`, nearly every entry,
      // walks (webhook_id, id) like the unfiltered page.
      .$if(q.trigger !== undefined, (qb) => qb.where("l.trigger", "=", sql.lit(q.trigger!)))
      .orderBy("l.id", "desc")
      .limit(q.limit)
  );
}

/**
 * The smallest log id made at or after `ms`. A log entry's id is made from its created_at (or, when
 * entries are recorded out of order, from a later time: ids are monotonic), never an earlier one, so
 * every entry with created_at >= ms has an id >= this: `from` bounds the (webhook_id, id) walk too.
 */
function logIdFloor(ms: number): string {
  return `log_${encodeTime(ms)}`;
}

export type LogSummaryRow = Omit<LogEntryRow, "request" | "response"> & { event_id: string | null };

/** Newest first, bodies left out; ask for one extra row to learn whether there is a next page. */
export async function listLogEntries(db: Db, q: LogQuery): Promise<LogSummaryRow[]> {
  return filtered(db, q)
    .select([...SUMMARY_COLUMNS, "d.event_id"])
    .execute();
}

/** Like listLogEntries, with request and response: one page of an export. */
export async function listFullLogEntries(db: Db, q: LogQuery): Promise<(LogEntryRow & { event_id: string | null })[]> {
  const rows = await filtered(db, q)
    .leftJoin("events as e", "e.id", "d.event_id")
    .select([...SUMMARY_COLUMNS, "l.request", "l.response", "d.event_id", "e.payload"])
    .execute();
  return rows.map(withRequestBody);
}

export async function findLogEntry(db: Db, webhookId: string, id: string): Promise<(LogEntryRow & { event_id: string | null }) | undefined> {
  const row = await db
    .selectFrom("log_entries as l")
    .leftJoin("deliveries as d", "d.id", "l.delivery_id")
    .leftJoin("events as e", "e.id", "d.event_id")
    .selectAll("l")
    .select(["d.event_id", "e.payload"])
    .where("l.webhook_id", "=", webhookId)
    .where("l.id", "=", id)
    .executeTakeFirst();
  return row && withRequestBody(row);
}

/**
 * A logged request as stored: `{method, url, headers, body}` as JSON, but without `body` when the
 * body sent was the event's payload — nearly always, and the payload is most of an attempt's bytes.
 * The entry's delivery references the event, and retention keeps both as long as the entry
 * (purge.ts: a delivery goes only once no log entry references it, an event once no delivery does),
 * so reading puts the same body back. Entries written before kept the body in full.
 */
export function storedRequest(request: { method: string; url: string; headers: Record<string, string>; body: string }, payload: string): string {
  if (request.body !== payload) return JSON.stringify(request);
  const { body: _sent, ...rest } = request;
  return JSON.stringify(rest);
}

/** The logged request with its body, whichever way it was stored. */
function withRequestBody<T extends { request: string; payload: string | null }>({ payload, ...row }: T): Omit<T, "payload"> {
  const request = JSON.parse(row.request) as { body?: string };
  if (request.body !== undefined) return row;
  request.body = payload ?? "";
  return { ...row, request: JSON.stringify(request) };
}

/** The columns a log entry is inserted with, in logEntryValues' order (also the record batches, postgres/ and sqlite/record-batch.ts). */
export const INSERT_COLUMNS = `id, webhook_id, delivery_id, project_id, event, attempt, "trigger", success, status_code, error, duration_ms, created_at, request, response`;

const INSERT_LOG_ENTRY = fixedStatement({
  sqlite: `insert into log_entries (${INSERT_COLUMNS}) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  postgres: `insert into log_entries (${INSERT_COLUMNS})
             select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::text[], $8::int[], $9::int[],
                                  $10::text[], $11::int[], $12::bigint[], $13::text[], $14::text[])`,
});

/** A log entry's values in INSERT_COLUMNS' order. */
export const logEntryValues = (r: LogEntryRow): unknown[] => [
  r.id,
  r.webhook_id,
  r.delivery_id,
  r.project_id,
  r.event,
  r.attempt,
  r.trigger,
  r.success,
  r.status_code,
  r.error,
  r.duration_ms,
  r.created_at,
  r.request,
  r.response,
];

/** A batch of entries as one array per column (PostgreSQL's unnest), in INSERT_COLUMNS' order. */
export function logColumns(rows: LogEntryRow[]): unknown[][] {
  const values = rows.map(logEntryValues);
  return values[0].map((_, i) => values.map((v) => v[i]));
}

/**
 * Inserts a batch of entries and counts them in the hourly rollups (log-rollups.ts; call it in a
 * transaction so both commit together): PostgreSQL in one statement (arrays through unnest), SQLite
 * one prepared statement per row (a multi-row form through json_each measured three times slower).
 */
export async function insertLogEntries(db: Db, rows: LogEntryRow[]): Promise<void> {
  if (rows.length === 0) return;
  if (isSqlite(db)) {
    for (const r of rows) await fixedRun(db, INSERT_LOG_ENTRY, logEntryValues(r));
  } else {
    await fixedRun(db, INSERT_LOG_ENTRY, logColumns(rows));
  }
  await applyRollupDeltas(db, rollupDeltas(rows));
}

/**
 * Deletes at most `limit` entries created before `cutoff` and takes them out of the rollups, in
 * one transaction; answers how many went.
 */
export async function deleteLogEntriesBefore(db: Db, cutoff: number, limit: number): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const gone = await trx
      .deleteFrom("log_entries")
      // PostgreSQL: only the partitions below the cutoff are visited (SQLite would walk the time index instead of the ids).
      .$if(!isSqlite(trx), (qb) => qb.where("created_at", "<", cutoff))
      .where("id", "in", (eb) => eb.selectFrom("log_entries").select("id").where("created_at", "<", cutoff).limit(limit))
      .returning(["webhook_id", "created_at", "duration_ms", "success"])
      .execute();
    await applyRollupDeltas(
      trx,
      rollupDeltas(
        gone.map((g) => ({ ...g, created_at: Number(g.created_at) })),
        -1,
      ),
    );
    return gone.length;
  });
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
