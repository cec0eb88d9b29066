import { sql, type Kysely } from "kysely";
import type { Database } from "../schema.js";

export interface PublishRow {
  id: string;
  projectId: string;
  event: string;
  payload: string;
  now: number;
  maxAttempts: number;
  /** The retry delays (JSON array of ms) each delivery keeps. */
  retryDelays: string;
  /** The publish span's `traceparent`, when tracing is on. */
  traceContext: string | null;
  /** Delivery ids made in advance, one per webhook that may be subscribed. */
  deliveryIds: string[];
}

/**
 * A publish without an idempotency key as one statement: one round trip instead of five (begin,
 * read the subscribed webhooks, insert the event, insert its deliveries, commit), and a single
 * statement is atomic on its own. Answers the webhooks that got a delivery, or null when more
 * webhooks are subscribed than `deliveryIds` (an active limit lowered below what is enabled): then
 * nothing was written and the caller uses the transaction.
 */
export async function publishEventPostgres(db: Kysely<Database>, e: PublishRow): Promise<string[] | null> {
  const res = await sql<{ fits: boolean; webhook_ids: string[] | null }>`
    with hooks as (
      select id, row_number() over (order by id) as n
        from webhooks
       where project_id = ${e.projectId} and enabled = 1 and events::jsonb ? ${e.event}::text),
    fits as (select count(*) <= ${e.deliveryIds.length}::int as ok from hooks),
    ev as (
      insert into events (id, project_id, event, payload, created_at, trace_context)
      select ${e.id}::text, ${e.projectId}::text, ${e.event}::text, ${e.payload}::text, ${e.now}::bigint, ${e.traceContext}::text from fits where ok),
    dl as (
      insert into deliveries (id, event_id, webhook_id, project_id, "trigger", status, attempts, max_attempts, retry_delays, run_at, lease_token, created_at, updated_at)
      select (${e.deliveryIds}::text[])[h.n], ${e.id}::text, h.id, ${e.projectId}::text, 'event', 'pending', 0, ${e.maxAttempts}::int,
             ${e.retryDelays}::text, ${e.now}::bigint, null, ${e.now}::bigint, ${e.now}::bigint
        from hooks h, fits
       where fits.ok
      returning webhook_id)
    select (select ok from fits) as fits, (select array_agg(webhook_id) from dl) as webhook_ids`.execute(db);
  const row = res.rows[0];
  return row.fits ? (row.webhook_ids ?? []) : null;
}
