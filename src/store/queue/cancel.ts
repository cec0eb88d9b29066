import { sql } from "kysely";
import type { Db } from "./settle.js";

/** An event delivery whose webhook was disabled before its attempt: cancelled, nothing sent. */
export async function cancelLeased(db: Db, id: string, token: string, now: number): Promise<boolean> {
  const res = await db
    .updateTable("deliveries")
    .set({ status: "cancelled", lease_token: null, lease_until: null, updated_at: now })
    .where("id", "=", id)
    .where("lease_token", "=", token)
    .where("status", "=", "pending")
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

/** Stops a webhook's queued event and recover deliveries and retries (Test and Redeliver attempts still run). */
export async function cancelPendingOfWebhook(db: Db, webhookId: string, now: number, exceptId?: string): Promise<number> {
  let q = db
    .updateTable("deliveries")
    .set({ status: "cancelled", lease_token: null, lease_until: null, updated_at: now })
    .where("webhook_id", "=", webhookId)
    // A literal: both planners then find the webhook's pending rows in deliveries_webhook_due (partial).
    .where("status", "=", sql.lit("pending"))
    .where("trigger", "in", ["event", "recover"]);
  if (exceptId) q = q.where("id", "!=", exceptId);
  const res = await q.executeTakeFirst();
  return Number(res.numUpdatedRows);
}
