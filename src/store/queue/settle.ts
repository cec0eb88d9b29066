/**
 * The shared shape of the three ends of an attempt (succeed.ts, schedule-retry.ts, fail.ts): count
 * the attempt, set the next state, drop the lease — only while the row is still pending and leased
 * by the caller. Another node may have cancelled it (webhook disabled) or taken it over (lease
 * expired) since the attempt started; the condition makes the caller lose that race cleanly.
 */
import type { Kysely, UpdateObject } from "kysely";
import type { Database } from "../schema.js";

export type Db = Kysely<Database>;

/** Answers the ids it changed. */
export async function settle(db: Db, ids: string[], token: string, now: number, next: UpdateObject<Database, "deliveries", "deliveries">): Promise<string[]> {
  if (ids.length === 0) return [];
  const rows = await db
    .updateTable("deliveries")
    .set((eb) => ({ ...next, attempts: eb("attempts", "+", 1), lease_token: null, lease_until: null, updated_at: now }))
    .where("id", "in", ids)
    .where("status", "=", "pending")
    .where("lease_token", "=", token)
    .returning("id")
    .execute();
  return rows.map((r) => r.id);
}
