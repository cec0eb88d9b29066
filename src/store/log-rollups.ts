/**
 * Hourly rollups of the delivery log: per webhook, hour and duration (whole ms, as the log stores
 * it), how many attempts succeeded and failed. The 24 h stats and the detail page's chart read
 * these rows instead of every entry of the day (log_scale in docs/performance.md).
 *
 * They are exact: every change to log_entries changes them in the same transaction, by the same
 * rows. Inserts add (store/logs.ts insertLogEntries), the retention purge subtracts what it deleted
 * (deleteLogEntriesBefore), and a webhook's deletion takes its rollups with its entries (FK
 * cascade). Keeping the duration in the key keeps the stats' percentiles exact (nearest rank over
 * every attempt's duration, as counting the log gives); durations repeat, so an hour holds at most a
 * few hundred rows however many attempts it saw.
 *
 * A batch is one statement whatever its size, its rows added up per key first, in key order: two
 * batches of the same webhook lock the rows they share in the same order and cannot deadlock.
 */
import type { Kysely } from "kysely";
import type { Database } from "./schema.js";
import { fixedRun, fixedStatement, isSqlite } from "./fixed-statement.js";

type Db = Kysely<Database>;

export const HOUR = 3600_000;

/** What a batch of log entries changes in the rollups, per (webhook, hour, duration); negative for deleted entries. */
export interface RollupDelta {
  webhook_id: string;
  hour_start: number;
  duration_ms: number;
  succeeded: number;
  failed: number;
}

/** The rollup rows of a set of entries, added up per key, in key order; `sign` -1 takes them away. */
export function rollupDeltas(entries: { webhook_id: string; created_at: number; duration_ms: number; success: number }[], sign: 1 | -1 = 1): RollupDelta[] {
  const byKey = new Map<string, RollupDelta>();
  for (const e of entries) {
    const hour = e.created_at - (e.created_at % HOUR);
    const key = `${e.webhook_id}\u0000${hour}\u0000${e.duration_ms}`;
    let d = byKey.get(key);
    if (!d) byKey.set(key, (d = { webhook_id: e.webhook_id, hour_start: hour, duration_ms: e.duration_ms, succeeded: 0, failed: 0 }));
    if (Number(e.success) === 1) d.succeeded += sign;
    else d.failed += sign;
  }
  return [...byKey.values()].sort((a, b) =>
    a.webhook_id < b.webhook_id ? -1 : a.webhook_id > b.webhook_id ? 1 : a.hour_start - b.hour_start || a.duration_ms - b.duration_ms,
  );
}

/** The rollups' columns, and the upsert that adds a row to its key's counts (also postgres/record-batch.ts). */
export const COLUMNS = "webhook_id, hour_start, duration_ms, succeeded, failed";
export const ADD = `on conflict (webhook_id, hour_start, duration_ms) do update
             set succeeded = log_hourly_rollups.succeeded + excluded.succeeded, failed = log_hourly_rollups.failed + excluded.failed`;

const APPLY = fixedStatement({
  // `where true`: SQLite's grammar needs it between a SELECT and ON CONFLICT.
  sqlite: `insert into log_hourly_rollups (${COLUMNS})
           select value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4 from json_each(?) where true ${ADD}`,
  postgres: `insert into log_hourly_rollups (${COLUMNS})
             select * from unnest($1::text[], $2::bigint[], $3::int[], $4::int[], $5::int[]) ${ADD}`,
});

/** Rows the purge brought to zero: nothing to count any more. */
const DROP_EMPTY = fixedStatement({
  sqlite: `delete from log_hourly_rollups where succeeded = 0 and failed = 0
             and (webhook_id, hour_start, duration_ms) in (select value ->> 0, value ->> 1, value ->> 2 from json_each(?))`,
  postgres: `delete from log_hourly_rollups r using unnest($1::text[], $2::bigint[], $3::int[]) k(webhook_id, hour_start, duration_ms)
              where r.webhook_id = k.webhook_id and r.hour_start = k.hour_start and r.duration_ms = k.duration_ms and r.succeeded = 0 and r.failed = 0`,
});

const params = (deltas: RollupDelta[], width: 3 | 5) => {
  const cols = (["webhook_id", "hour_start", "duration_ms", "succeeded", "failed"] as const).slice(0, width);
  return cols.map((c) => deltas.map((d) => d[c]));
};

const asJson = (columns: unknown[][]) => JSON.stringify(columns[0].map((_, i) => columns.map((c) => c[i])));

/** Adds the deltas to the rollups (call it in the transaction that changed the entries); drops rows left at zero. */
export async function applyRollupDeltas(db: Db, deltas: RollupDelta[]): Promise<void> {
  if (deltas.length === 0) return;
  const sqlite = isSqlite(db);
  const all = params(deltas, 5);
  await fixedRun(db, APPLY, sqlite ? [asJson(all)] : all);
  if (deltas.every((d) => d.succeeded >= 0 && d.failed >= 0)) return;
  const keys = params(deltas, 3);
  await fixedRun(db, DROP_EMPTY, sqlite ? [asJson(keys)] : keys);
}

export interface HourlyCounts {
  hour_start: number;
  duration_ms: number;
  succeeded: number;
  failed: number;
}

/** The rollup rows of one webhook for the hours starting in [from, to), by hour then duration. */
export async function hourlyRollups(db: Db, webhookId: string, from: number, to: number): Promise<HourlyCounts[]> {
  const rows = await db
    .selectFrom("log_hourly_rollups")
    .select(["hour_start", "duration_ms", "succeeded", "failed"])
    .where("webhook_id", "=", webhookId)
    .where("hour_start", ">=", from)
    .where("hour_start", "<", to)
    .orderBy("hour_start")
    .orderBy("duration_ms")
    .execute();
  return rows.map((r) => ({ hour_start: Number(r.hour_start), duration_ms: r.duration_ms, succeeded: r.succeeded, failed: r.failed }));
}

/**
 * The rollups counted from the log (migration 0011 fills the table with it; tests compare it with
 * the table): the same rows and numbers, as a SELECT.
 */
export const ROLLUPS_FROM_LOG = `select webhook_id, created_at - (created_at % ${HOUR}) as hour_start, duration_ms,
       sum(case when success = 1 then 1 else 0 end) as succeeded, sum(case when success = 1 then 0 else 1 end) as failed
  from log_entries group by webhook_id, created_at - (created_at % ${HOUR}), duration_ms`;
