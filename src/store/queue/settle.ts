/**
 * The shared shape of the three ends of an attempt (succeed.ts, schedule-retry.ts, fail.ts): count
 * the attempt, set the next state, drop the lease — only while the row is still pending and leased
 * by the caller. Another node may have cancelled it (webhook disabled) or taken it over (lease
 * expired) since the attempt started; the condition makes the caller lose that race cleanly.
 * A batch of outcomes is one statement whatever its mix of ends (a fixed text: fixed-statement.ts).
 */
import type { Kysely } from "kysely";
import type { Database, DeliveryStatus } from "../schema.js";
import { fixedRows, fixedStatement, isSqlite } from "../fixed-statement.js";

export type Db = Kysely<Database>;

export interface Settlement {
  id: string;
  /** `pending` with a `runAt`: a retry, due then. */
  status: Extract<DeliveryStatus, "succeeded" | "failed" | "pending">;
  runAt: number | null;
  /**
   * A FIFO webhook's retry keeps its place in line (fifo.ts): run_at, its position, stays, and the
   * time it is due again goes in lease_until, which keeps it (and so every delivery behind it) from
   * starting before then.
   */
  holdsLine?: boolean;
}

const SETTLE = fixedStatement({
  sqlite: `update deliveries set status = s.value ->> 1,
                  run_at = case when s.value ->> 3 then run_at else coalesce(s.value ->> 2, run_at) end, attempts = attempts + 1,
                  lease_token = null, lease_until = case when s.value ->> 3 then s.value ->> 2 end, updated_at = ?
             from json_each(?) s
            where deliveries.id = s.value ->> 0 and deliveries.status = 'pending' and deliveries.lease_token = ?
        returning deliveries.id`,
  postgres: `update deliveries d set status = s.status, run_at = case when s.hold then d.run_at else coalesce(s.run_at, d.run_at) end,
                    attempts = d.attempts + 1, lease_token = null, lease_until = case when s.hold then s.run_at end, updated_at = $1
               from unnest($2::text[], $3::text[], $4::bigint[], $6::bool[]) as s(id, status, run_at, hold)
              where d.id = s.id and d.status = 'pending' and d.lease_token = $5
          returning d.id`,
});

/** Applies each delivery's end of its attempt, one statement for the batch; answers the ids it changed. */
export async function settleAll(db: Db, items: Settlement[], token: string, now: number): Promise<string[]> {
  if (items.length === 0) return [];
  const params = isSqlite(db)
    ? [now, JSON.stringify(items.map((i) => [i.id, i.status, i.runAt, i.holdsLine ? 1 : 0])), token]
    : [now, items.map((i) => i.id), items.map((i) => i.status), items.map((i) => i.runAt), token, items.map((i) => i.holdsLine === true)];
  const rows = await fixedRows<{ id: string }>(db, SETTLE, params);
  return rows.map((r) => r.id);
}

/** Answers the ids it changed. */
export function settle(db: Db, ids: string[], token: string, now: number, status: Settlement["status"], runAt: number | null = null): Promise<string[]> {
  return settleAll(
    db,
    ids.map((id) => ({ id, status, runAt })),
    token,
    now,
  );
}
