/**
 * Retention: log entries older than HOOKLINE_LOG_RETENTION_DAYS go, then finished deliveries and
 * events nothing references any more, and expired idempotency keys. Each step deletes in small
 * batches so no statement holds locks for long.
 */
import { sql } from "kysely";
import type { Context } from "../services/context.js";

const BATCH = 1000;
const DAY = 24 * 3600 * 1000;

export interface PurgeResult {
  logEntries: number;
  deliveries: number;
  events: number;
  idempotencyKeys: number;
}

export async function purgeOld(ctx: Context, maxBatches = 1000): Promise<PurgeResult> {
  const db = ctx.store.db;
  const cutoff = ctx.now() - ctx.config.logRetentionDays * DAY;
  const result: PurgeResult = { logEntries: 0, deliveries: 0, events: 0, idempotencyKeys: 0 };
  const repeat = async (step: () => Promise<number>) => {
    let total = 0;
    for (let i = 0; i < maxBatches; i++) {
      const n = await step();
      total += n;
      if (n < BATCH) break;
    }
    return total;
  };
  result.logEntries = await repeat(async () => {
    const res = await db
      .deleteFrom("log_entries")
      .where("id", "in", (eb) => eb.selectFrom("log_entries").select("id").where("created_at", "<", cutoff).limit(BATCH))
      .executeTakeFirst();
    return Number(res.numDeletedRows);
  });
  result.deliveries = await repeat(async () => {
    const res = await db
      .deleteFrom("deliveries")
      .where("id", "in", (eb) =>
        eb
          .selectFrom("deliveries as d")
          .select("d.id")
          .where("d.status", "!=", "pending")
          .where("d.updated_at", "<", cutoff)
          .where(({ not, exists, selectFrom }) => not(exists(selectFrom("log_entries as l").select(sql`1`.as("one")).whereRef("l.delivery_id", "=", "d.id"))))
          .limit(BATCH),
      )
      .executeTakeFirst();
    return Number(res.numDeletedRows);
  });
  result.events = await repeat(async () => {
    const res = await db
      .deleteFrom("events")
      .where("id", "in", (eb) =>
        eb
          .selectFrom("events as e")
          .select("e.id")
          .where("e.created_at", "<", cutoff)
          .where(({ not, exists, selectFrom }) => not(exists(selectFrom("deliveries as d").select(sql`1`.as("one")).whereRef("d.event_id", "=", "e.id"))))
          .limit(BATCH),
      )
      .executeTakeFirst();
    return Number(res.numDeletedRows);
  });
  const res = await db.deleteFrom("idempotency_keys").where("created_at", "<", ctx.now() - DAY).executeTakeFirst();
  result.idempotencyKeys = Number(res.numDeletedRows);
  return result;
}
