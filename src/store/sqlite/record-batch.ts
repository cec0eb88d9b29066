/**
 * SQLite's side of recording a batch from what the claim read (queue/record-batch.ts): no read of
 * the deliveries first, three fixed statements in the group commit (sqlite/group-commit.ts) that
 * the batch's claim and the other works of its turn share a commit with:
 *  - each log entry inserted only while its delivery exists (a deleted webhook took its deliveries,
 *    and nothing of them is kept), then the inserted ones counted in the hourly rollups;
 *  - each delivery's end of its attempt, only while still pending and leased by the outcome's token
 *    (settle.ts's rule), a FIFO webhook's retry holding the line (the ordering read in the statement,
 *    as the reading record reads it);
 *  - the in-flight limits of the batch's webhooks as they are now, so the caller can tell whether
 *    one changed since the claim.
 */
import { sharedCommit, type Store } from "../db.js";
import { fixedRows, fixedRun, type FixedStatement } from "../fixed-statement.js";
import { applyRollupDeltas, rollupDeltas } from "../log-rollups.js";
import { INSERT_COLUMNS, logEntryValues } from "../logs.js";
import type { LogEntryRow } from "../schema.js";
import type { BatchRecord, RecordedBatch } from "../queue/record-batch.js";

/** A SQLite text (PostgreSQL records with postgres/record-batch.ts), run as the other fixed statements are. */
const sqliteOnly = (sqlite: string): FixedStatement => ({ sqlite, postgres: "" });

const INSERT_IF_DELIVERY = sqliteOnly(`insert into log_entries (${INSERT_COLUMNS})
           select ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? where exists (select 1 from deliveries where id = ?)`);

/** A retry (next state pending) of a FIFO webhook keeps run_at, its place in line (settle.ts). */
const HOLD = `(s.value ->> 1 = 'pending' and (select w.ordering from webhooks w where w.id = deliveries.webhook_id) = 'fifo')`;

/** Each item: [delivery id, status, run_at, lease token]. */
const SETTLE_CLAIMED = sqliteOnly(`update deliveries set status = s.value ->> 1,
                  run_at = case when ${HOLD} then run_at else coalesce(s.value ->> 2, run_at) end, attempts = attempts + 1,
                  lease_token = null, lease_until = case when ${HOLD} then s.value ->> 2 end, updated_at = ?
             from json_each(?) s
            where deliveries.id = s.value ->> 0 and deliveries.status = 'pending' and deliveries.lease_token = s.value ->> 3
        returning deliveries.id`);

const LIMITS = sqliteOnly("select id, inflight_limit from webhooks where id in (select value from json_each(?))");

/** The entry's columns, then its delivery id for the existence check. */
const values = (r: LogEntryRow) => {
  const v = logEntryValues(r);
  v.push(r.delivery_id);
  return v;
};

export function recordBatchSqlite(store: Store, batch: BatchRecord[], now: number): Promise<RecordedBatch> {
  return sharedCommit(store, async (db) => {
    const logged: LogEntryRow[] = [];
    for (const b of batch) if ((await fixedRun(db, INSERT_IF_DELIVERY, values(b.log))) > 0) logged.push(b.log);
    await applyRollupDeltas(db, rollupDeltas(logged));
    const steps = batch.filter((b) => b.next !== null).map((b) => [b.log.delivery_id, b.next!.status, b.next!.runAt, b.token]);
    const settled = steps.length === 0 ? [] : (await fixedRows<{ id: string }>(db, SETTLE_CLAIMED, [now, JSON.stringify(steps)])).map((r) => r.id);
    const webhooks = [...new Set(batch.map((b) => b.log.webhook_id))];
    const rows = await fixedRows<{ id: string; inflight_limit: number | null }>(db, LIMITS, [JSON.stringify(webhooks)]);
    return { settled, limits: new Map(rows.map((r) => [r.id, r.inflight_limit])) };
  });
}
