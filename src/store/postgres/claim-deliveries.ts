import { sql, type Kysely } from "kysely";
import { claimFilter } from "../claim-slots.js";
import type { ClaimRequest, ClaimedDelivery } from "../deliveries.js";
import type { Database } from "../schema.js";

/**
 * One statement: lock due rows, skipping rows another worker is claiming right now, keep those the
 * per-webhook slots allow, and lease them. The lease (run_at in the future) keeps them from every
 * other worker until it expires; scanned rows not taken are unlocked when the statement ends. The
 * claim leaves updated_at alone (the purge reads it of finished rows only).
 */
export async function claimPostgres(db: Kysely<Database>, req: ClaimRequest): Promise<ClaimedDelivery[]> {
  const { exclude, slots, scan } = claimFilter(req);
  const due = slots
    ? sql`scan as (
            select id, webhook_id, run_at from deliveries
             where status = 'pending' and run_at <= ${req.now} ${exclude}
             order by run_at
             limit ${scan}
             for update skip locked),
          due as (
            select id from (
              select id, run_at, webhook_id, row_number() over (partition by webhook_id order by run_at) as n from scan) ranked
             where n <= ${slots}
             order by run_at
             limit ${req.limit})`
    : sql`due as (
            select id from deliveries
             where status = 'pending' and run_at <= ${req.now} ${exclude}
             order by run_at
             limit ${req.limit}
             for update skip locked)`;
  const res = await sql<ClaimedDelivery>`
    with ${due}
    update deliveries d
       set run_at = ${req.leaseUntil}, lease_token = ${req.token}
      from due
     where d.id = due.id
    returning d.id, d.event_id, d.webhook_id, d.project_id, d."trigger", d.attempts, d.max_attempts`.execute(db);
  return res.rows;
}
