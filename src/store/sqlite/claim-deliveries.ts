import { sql, type Kysely } from "kysely";
import type { ClaimRequest, ClaimedDelivery } from "../deliveries.js";
import type { Database } from "../schema.js";

/**
 * SQLite serialises writers, so one UPDATE … WHERE id IN (SELECT … LIMIT n) RETURNING is atomic:
 * two workers can never lease the same row (test/integration/claim.test.ts proves it).
 */
export async function claimSqlite(db: Kysely<Database>, req: ClaimRequest): Promise<ClaimedDelivery[]> {
  const exclude = req.excludeWebhookIds.length
    ? sql`and webhook_id not in (${sql.join(req.excludeWebhookIds)})`
    : sql``;
  const res = await sql<ClaimedDelivery>`
    update deliveries
       set run_at = ${req.leaseUntil}, lease_token = ${req.token}, updated_at = ${req.now}
     where id in (
       select id from deliveries
        where status = 'pending' and run_at <= ${req.now} ${exclude}
        order by run_at
        limit ${req.limit})
    returning id, event_id, webhook_id, project_id, "trigger", attempts, max_attempts`.execute(db);
  return res.rows;
}
