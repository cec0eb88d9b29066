import type { Db } from "./settle.js";

/**
 * Gives leases back without an attempt counted (shutdown aborted them): the deliveries are due again
 * at once, for any worker, and no longer count against their webhooks' in-flight limits.
 */
export async function releaseLeases(db: Db, ids: string[], token: string, now: number): Promise<void> {
  if (ids.length === 0) return;
  await db
    .updateTable("deliveries")
    .set({ lease_token: null, lease_until: null, updated_at: now })
    .where("id", "in", ids)
    .where("lease_token", "=", token)
    .where("status", "=", "pending")
    .execute();
}
