import { sql, type Kysely } from "kysely";
import { claimFilter } from "../claim-slots.js";
import type { ClaimRequest, ClaimedDelivery } from "../deliveries.js";
import type { Database } from "../schema.js";

/**
 * SQLite serialises writers, so one UPDATE … WHERE id IN (SELECT … LIMIT n) RETURNING is atomic:
 * two workers can never lease the same row (test/integration/claim.test.ts proves it).
 *
 * `indexed by deliveries_due`: a database without planner statistics (migration 0002 seeds them)
 * would use deliveries_finished (status, updated_at) and sort every pending row for each claim.
 * The lease is lease_token and lease_until, columns no index holds (and updated_at is left alone:
 * the purge reads it of finished rows only), so leasing moves no index entry.
 */
export async function claimSqlite(db: Kysely<Database>, req: ClaimRequest): Promise<ClaimedDelivery[]> {
  const { due: dueFilter, slots, scan } = claimFilter(req);
  const due = slots
    ? sql`select id from (
            select id, run_at, webhook_id, row_number() over (partition by webhook_id order by run_at) as n
              from (select id, webhook_id, run_at from deliveries indexed by deliveries_due
                     where ${dueFilter}
                     order by run_at
                     limit ${scan}))
           where n <= ${slots}
           order by run_at
           limit ${req.limit}`
    : sql`select id from deliveries indexed by deliveries_due
           where ${dueFilter}
           order by run_at
           limit ${req.limit}`;
  const res = await sql<ClaimedDelivery>`
    update deliveries
       set lease_token = ${req.token}, lease_until = ${req.leaseUntil}
     where id in (${due})
    returning id, event_id, webhook_id, project_id, "trigger", attempts, max_attempts, run_at`.execute(db);
  return res.rows;
}
