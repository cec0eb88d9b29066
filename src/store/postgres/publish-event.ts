import type { Kysely } from "kysely";
import { fanOutPostgresText } from "../fan-out.js";
import { namedPostgres, rawRows } from "../fixed-statement.js";
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
  /** Filtered webhooks the caller matched, and the versions of every filter it knows (store/fan-out.ts). */
  matched: string[];
  versions: string[];
}

/**
 * A publish without an idempotency key as one statement: one round trip instead of five (begin,
 * read the subscribed webhooks, insert the event, insert its deliveries, commit), and a single
 * statement is atomic on its own. It also checks that the project exists, so the caller need not
 * read it first (one round trip fewer): "no_project" when it does not, and nothing was written.
 * Which webhooks get the event is fan-out's (store/fan-out.ts). Answers the webhooks that got a delivery, or null when more
 * webhooks are subscribed than `deliveryIds` (an active limit lowered below what is enabled) or a
 * subscribed webhook has a filter the caller does not know (store/fan-out.ts): then nothing was
 * written and the caller uses the transaction. A named prepared statement
 * (fixed-statement.ts): parsed and planned once per connection.
 * The project's row is locked (KEY SHARE) while it is checked, before the inserts' foreign-key
 * checks lock the webhooks at the statement's end: a project's deletion locks the project, then its
 * webhooks (store/projects.ts), and the other order deadlocked with it.
 */
const PUBLISH = namedPostgres(`
    with ${fanOutPostgresText({ project: "$1", event: "$2::text", matched: "$11::text[]", versions: "$12::text[]" })},
    project as (select exists (select 1 from projects where id = $1::text for key share) as found),
    fits as (select count(*) <= $3::int and not exists (select 1 from sub where unknown) and (select found from project) as ok from hooks),
    ev as (
      insert into events (id, project_id, event, payload, created_at, trace_context)
      select $4::text, $1::text, $2::text, $5::text, $6::bigint, $7::text from fits where ok),
    dl as (
      insert into deliveries (id, event_id, webhook_id, project_id, "trigger", status, attempts, max_attempts, retry_delays, run_at, lease_token, created_at, updated_at)
      select ($8::text[])[h.n], $4::text, h.id, $1::text, 'event', 'pending', 0, $9::int, $10::text, $6::bigint, null, $6::bigint, $6::bigint
        from hooks h, fits
       where fits.ok
      returning webhook_id)
    select (select found from project) as project, (select ok from fits) as fits, (select array_agg(webhook_id) from dl) as webhook_ids`);

export async function publishEventPostgres(db: Kysely<Database>, e: PublishRow): Promise<string[] | "no_project" | null> {
  const [row] = await rawRows<{ project: boolean; fits: boolean; webhook_ids: string[] | null }>(db, PUBLISH, [
    e.projectId,
    e.event,
    e.deliveryIds.length,
    e.id,
    e.payload,
    e.now,
    e.traceContext,
    e.deliveryIds,
    e.maxAttempts,
    e.retryDelays,
    e.matched,
    e.versions,
  ]);
  if (!row.project) return "no_project";
  return row.fits ? (row.webhook_ids ?? []) : null;
}
