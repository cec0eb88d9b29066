import { sql, type Kysely } from "kysely";
import type { Database } from "./schema.js";

type Db = Kysely<Database>;

/** The backlog gauges: pending deliveries and the age of the oldest. */
export async function pendingStats(db: Db, now: number): Promise<{ pending: number; oldestAgeSeconds: number }> {
  const row = await db
    .selectFrom("deliveries")
    .select([sql<number>`count(*)`.as("n"), sql<number | null>`min(created_at)`.as("oldest")])
    // A literal: the planners count the pending rows in deliveries_webhook_due (partial), not the table.
    .where("status", "=", sql.lit("pending"))
    .executeTakeFirstOrThrow();
  const oldest = row.oldest === null ? null : Number(row.oldest);
  return { pending: Number(row.n), oldestAgeSeconds: oldest === null ? 0 : Math.max(0, (now - oldest) / 1000) };
}
