import { sql, type Kysely } from "kysely";
import type { ClaimRequest, ClaimedDelivery } from "../deliveries.js";
import type { Database } from "../schema.js";

/**
 * One statement: lock due rows, skipping rows another worker is claiming right now, and lease them.
 * The lease (run_at in the future) keeps them from every other worker until it expires.
 */
export async function claimPostgres(db: Kysely<Database>, req: ClaimRequest): Promise<ClaimedDelivery[]> {
  const exclude = req.excludeWebhookIds.length
    ? sql`and webhook_id not in (${sql.join(req.excludeWebhookIds)})`
    : sql``;
  const res = await sql<ClaimedDelivery>`
    with due as (
      select id from deliveries
       where status = 'pending' and run_at <= ${req.now} ${exclude}
       order by run_at
       limit ${req.limit}
       for update skip locked)
    update deliveries d
       set run_at = ${req.leaseUntil}, lease_token = ${req.token}, updated_at = ${req.now}
      from due
     where d.id = due.id
    returning d.id, d.event_id, d.webhook_id, d.project_id, d."trigger", d.attempts, d.max_attempts`.execute(db);
  return res.rows;
}
