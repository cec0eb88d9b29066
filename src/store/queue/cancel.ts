import { sql } from "kysely";
import type { Trigger } from "../schema.js";
import type { Db } from "./settle.js";

/** How many deliveries a cancellation stopped, by each delivery's own trigger. */
export type CancelledByTrigger = Partial<Record<Trigger, number>>;

/** An event delivery whose webhook was disabled before its attempt: cancelled, nothing sent. */
export async function cancelLeased(db: Db, id: string, token: string, now: number): Promise<CancelledByTrigger> {
  const rows = await db
    .updateTable("deliveries")
    .set({ status: "cancelled", lease_token: null, lease_until: null, updated_at: now })
    .where("id", "=", id)
    .where("lease_token", "=", token)
    .where("status", "=", "pending")
    .returning("trigger")
    .execute();
  return countByTrigger(rows);
}

/** Stops a webhook's queued event and recover deliveries and retries (Test and Redeliver attempts still run). */
export async function cancelPendingOfWebhook(db: Db, webhookId: string, now: number, exceptId?: string): Promise<CancelledByTrigger> {
  let q = db
    .updateTable("deliveries")
    .set({ status: "cancelled", lease_token: null, lease_until: null, updated_at: now })
    .where("webhook_id", "=", webhookId)
    // A literal: both planners then find the webhook's pending rows in deliveries_webhook_due (partial).
    .where("status", "=", sql.lit("pending"))
    .where("trigger", "in", ["event", "recover"]);
  if (exceptId) q = q.where("id", "!=", exceptId);
  return countByTrigger(await q.returning("trigger").execute());
}

export function cancelledTotal(c: CancelledByTrigger): number {
  return Object.values(c).reduce((sum, n) => sum + (n ?? 0), 0);
}

function countByTrigger(rows: { trigger: Trigger }[]): CancelledByTrigger {
  const out: CancelledByTrigger = {};
  for (const r of rows) out[r.trigger] = (out[r.trigger] ?? 0) + 1;
  return out;
}
