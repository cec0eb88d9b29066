import type { Kysely } from "kysely";
import { namedPostgres, rawRows } from "../fixed-statement.js";
import { ADD, COLUMNS, HOUR } from "../log-rollups.js";
import { INSERT_COLUMNS, logColumns } from "../logs.js";
import type { Database } from "../schema.js";
import type { BatchRecord, RecordedBatch } from "../queue/record-batch.js";

/**
 * A batch of outcomes as one statement, atomic on its own (no begin, no commit round trip):
 *  - logged: the log entries of the deliveries that still exist (a deleted webhook took its
 *    deliveries, and nothing of them is kept);
 *  - rolled: those entries counted in the hourly rollups, added up per key and written in key
 *    order (byte order, as rollupDeltas sorts), so two batches lock shared rows in the same order;
 *  - settled: each delivery's end of its attempt, only while still pending and leased by the
 *    outcome's token (settle.ts's rule); a retry of a FIFO webhook holds the line (ordering read
 *    here, as the reading record does);
 *  - and the in-flight limits of the batch's webhooks as they are now, so the caller can tell
 *    whether one changed since the claim.
 * The deliveries are found by primary key whatever the statistics say (right after a burst they
 * call the table small, and a cached generic plan keeps the hash join over the whole table that
 * follows from it): the existence test is a scalar subquery, run per row (an EXISTS may become a
 * join), and the update joins nothing: it names its rows with `id = any(…)`, an index condition,
 * and takes each row's values from the arrays by position.
 */
/** The batch's value for the row being updated: its entry in an array parameter (aligned with $3, the delivery ids). */
const at = (array: string) => `(${array})[array_position($3::text[], d.id)]`;
/** A retry of a FIFO webhook keeps its place in line (settle.ts). */
const HOLD = `(${at("$15::text[]")} = 'pending' and exists (select 1 from webhooks w where w.id = d.webhook_id and w.ordering = 'fifo'))`;

/**
 * Which of the rows found by id are settled: still pending and leased by the outcome's token. As a
 * CASE the planner cannot match it to the predicates of the partial indexes deliveries_webhook_due
 * (`status = 'pending'`) and deliveries_leased (`lease_token is not null`); written as plain
 * conditions it read one of those whole (every pending row, or every leased row with the dead
 * entries the lease and settle updates leave) to intersect with the primary key, or instead of it:
 * 47 to 125 buffers per batch of five on a bench database, against about 15 by primary key
 * (docs/performance.md, "PostgreSQL server writes per delivery").
 */
const SETTLES = `case when ${at("$15::text[]")} is not null and d.status = 'pending' and d.lease_token = ${at("$17::text[]")} then true else false end`;

/**
 * The batch's webhooks, locked FOR KEY SHARE in id order before any delivery row: the order in which
 * a webhook's deletion locks them (its row, then its deliveries by cascade), and the claim (webhook,
 * then deliveries). Otherwise the settle locked a delivery and the rollups' foreign-key check then
 * waited for its webhook, while a deletion holding that webhook waited for the delivery: a deadlock
 * that PostgreSQL broke after deadlock_timeout by failing one of them, the API's DELETE as often as
 * the record. KEY SHARE waits only for a deletion (or a key change): claims and updates of the
 * webhook's other columns go on beside it. An uncorrelated scalar subquery in the settle's WHERE is
 * an InitPlan, a one-time filter run before the update reads its first row.
 */
const LOCK_WEBHOOKS = `(select count(*) from (select 1 from webhooks w where w.id = any($2::text[]) order by w.id for key share of w) k) >= 0`;

/** Exported for the test of its plan (pg-round-trips.test.ts). */
export const RECORD = namedPostgres(`
  with o as (
    select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::text[], $8::int[], $9::int[],
                         $10::text[], $11::int[], $12::bigint[], $13::text[], $14::text[], $15::text[], $16::bigint[], $17::text[])
      as o(id, webhook_id, delivery_id, project_id, event, attempt, "trigger", success, status_code, error, duration_ms, created_at, request,
           response, next_status, run_at, token)),
  logged as (
    insert into log_entries (${INSERT_COLUMNS})
    select o.id, o.webhook_id, o.delivery_id, o.project_id, o.event, o.attempt, o."trigger", o.success, o.status_code, o.error, o.duration_ms,
           o.created_at, o.request, o.response
      from o where (select true from deliveries d where d.id = o.delivery_id)
    returning webhook_id, created_at, duration_ms, success),
  rolled as (
    insert into log_hourly_rollups (${COLUMNS})
    select webhook_id, created_at - created_at % ${HOUR}, duration_ms, sum(success), sum(1 - success) from logged
     group by webhook_id, created_at - created_at % ${HOUR}, duration_ms
     order by webhook_id collate "C", 2, 3
    ${ADD}),
  settled as (
    update deliveries d set status = ${at("$15::text[]")},
           run_at = case when ${HOLD} then d.run_at else coalesce(${at("$16::bigint[]")}, d.run_at) end,
           attempts = d.attempts + 1, lease_token = null, lease_until = case when ${HOLD} then ${at("$16::bigint[]")} end, updated_at = $18
     where ${LOCK_WEBHOOKS} and d.id = any($3::text[]) and ${SETTLES}
    returning d.id)
  select array(select id from settled) as settled,
         (select json_object_agg(w.id, w.inflight_limit) from webhooks w where w.id = any($2::text[])) as limits`);

export async function recordBatchPostgres(db: Kysely<Database>, batch: BatchRecord[], now: number): Promise<RecordedBatch> {
  const [row] = await rawRows<{ settled: string[]; limits: Record<string, number | null> | null }>(db, RECORD, [
    ...logColumns(batch.map((b) => b.log)),
    batch.map((b) => b.next?.status ?? null),
    batch.map((b) => b.next?.runAt ?? null),
    batch.map((b) => b.token),
    now,
  ]);
  return { settled: row.settled, limits: new Map(Object.entries(row.limits ?? {})) };
}
