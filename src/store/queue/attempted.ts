/**
 * What recording a batch of finished attempts reads first, in one statement: each delivery's state
 * as it is now (the next step depends on it, and only a delivery still leased by the caller takes
 * one), its event's payload (a log entry refers to it instead of copying the body it sent: logs.ts)
 * and its webhook's in-flight limit (inflight-limit.ts) and ordering (a FIFO retry holds the line: settle.ts).
 */
import type { DeliveryRow } from "../schema.js";
import { fixedRows, fixedStatement, isSqlite } from "../fixed-statement.js";
import type { Db } from "./settle.js";

export type AttemptedDelivery = Pick<
  DeliveryRow,
  "id" | "event_id" | "webhook_id" | "project_id" | "trigger" | "status" | "attempts" | "max_attempts" | "retry_delays" | "lease_token"
> & { payload: string; inflight_limit: number | null; ordering: "none" | "fifo" };

const COLUMNS = `d.id, d.event_id, d.webhook_id, d.project_id, d."trigger", d.status, d.attempts, d.max_attempts, d.retry_delays, d.lease_token,
                 e.payload, w.inflight_limit, w.ordering`;

const ATTEMPTED = fixedStatement({
  sqlite: `select ${COLUMNS} from json_each(?) j
             join deliveries d on d.id = j.value join events e on e.id = d.event_id join webhooks w on w.id = d.webhook_id`,
  // PostgreSQL: the deliveries' webhooks are locked FOR KEY SHARE, in id order, before anything else of
  // the record's transaction (a one-time filter, run before the first row is read). The record locks
  // the deliveries next (settle) and updates the webhooks last (in-flight limits, disable), while a
  // deletion locks its webhooks first, then their deliveries by cascade: taken the other way round,
  // the two deadlocked (postgres/record-batch.ts). A deletion that commits while this waits does not
  // hide its rows here (the statement's snapshot is older): the log insert's foreign-key check then
  // fails the record, and the recorder's retry finds them gone (delivery/recorder.ts).
  postgres: `select ${COLUMNS} from deliveries d join events e on e.id = d.event_id join webhooks w on w.id = d.webhook_id
              where (select count(*) from (select 1 from webhooks l where l.id in (select webhook_id from deliveries where id = any($1::text[]))
                                            order by l.id for key share of l) k) >= 0
                and d.id = any($1::text[])`,
});

/** The deliveries of `ids` that still exist (a deleted webhook or project took its deliveries along). */
export function attemptedDeliveries(db: Db, ids: string[]): Promise<AttemptedDelivery[]> {
  if (ids.length === 0) return Promise.resolve([]);
  return fixedRows<AttemptedDelivery>(db, ATTEMPTED, [isSqlite(db) ? JSON.stringify(ids) : ids]);
}
