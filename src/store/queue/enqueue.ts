/**
 * Enqueue: an event and its deliveries, written together. Each delivery carries its retry schedule
 * (max_attempts and the delays) as it was when the delivery was created, so a configuration change
 * applies to new deliveries only.
 */
import type { Store } from "../db.js";
import type { Database, Trigger } from "../schema.js";
import type { Kysely } from "kysely";
import { publishEventPostgres } from "../postgres/publish-event.js";
import type { FanOutEvent } from "../../domain/fan-out.js";
import { knownFiltered } from "../fan-out.js";
import { fixedRun, fixedStatement, isSqlite } from "../fixed-statement.js";

type Db = Kysely<Database>;

export interface NewEvent {
  id: string;
  projectId: string;
  event: string;
  /** The exact body every attempt sends. */
  payload: string;
  now: number;
  /** The publish span's `traceparent`, when tracing is on: each attempt's span is its child. */
  traceContext?: string | null;
}

export interface NewDelivery {
  id: string;
  webhookId: string;
  trigger: Trigger;
}

export interface RetrySchedule {
  maxAttempts: number;
  retryDelaysMs: number[];
}

// The publish's inserts as fixed statements (fixed-statement.ts): SQLite one prepared statement
// per delivery row, PostgreSQL one statement for all of them (arrays through unnest).
const INSERT_EVENT = fixedStatement({
  sqlite: "insert into events (id, project_id, event, payload, created_at, trace_context) values (?, ?, ?, ?, ?, ?)",
  postgres:
    "insert into events (id, project_id, event, payload, created_at, trace_context) values ($1::text, $2::text, $3::text, $4::text, $5::bigint, $6::text)",
});

const DELIVERY_COLUMNS = `id, event_id, webhook_id, project_id, "trigger", status, attempts, max_attempts, retry_delays, run_at, lease_token, created_at, updated_at`;

const INSERT_DELIVERY = fixedStatement({
  sqlite: `insert into deliveries (${DELIVERY_COLUMNS}) values (?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?, null, ?, ?)`,
  postgres: `insert into deliveries (${DELIVERY_COLUMNS})
             select d.id, $2::text, d.webhook_id, $3::text, d.trigger, 'pending', 0, $4::int, $5::text, $6::bigint, null, $6::bigint, $6::bigint
               from unnest($1::text[], $7::text[], $8::text[]) as d(id, webhook_id, trigger)`,
});

/** Inserts the event (unless `eventExists`) and one pending delivery per entry, due now. */
export async function enqueue(db: Db, e: NewEvent, deliveries: NewDelivery[], schedule: RetrySchedule, eventExists = false): Promise<void> {
  if (!eventExists) await fixedRun(db, INSERT_EVENT, [e.id, e.projectId, e.event, e.payload, e.now, e.traceContext ?? null]);
  if (deliveries.length === 0) return;
  const retryDelays = JSON.stringify(schedule.retryDelaysMs);
  if (isSqlite(db)) {
    for (const d of deliveries)
      await fixedRun(db, INSERT_DELIVERY, [d.id, e.id, d.webhookId, e.projectId, d.trigger, schedule.maxAttempts, retryDelays, e.now, e.now, e.now]);
    return;
  }
  await fixedRun(db, INSERT_DELIVERY, [
    deliveries.map((d) => d.id),
    e.id,
    e.projectId,
    schedule.maxAttempts,
    retryDelays,
    e.now,
    deliveries.map((d) => d.webhookId),
    deliveries.map((d) => d.trigger),
  ]);
}

/**
 * A publish without an idempotency key in a single statement where the dialect has one
 * (PostgreSQL, postgres/publish-event.ts): the event plus a delivery for every webhook fan-out
 * chooses (store/fan-out.ts). Answers the webhooks that got a delivery, "no_project" when the project
 * does not exist (nothing written; the statement checks it, so the caller need not read it first),
 * or null when the caller must use the transaction (SQLite, whose group commit makes that cheap, or
 * more subscribers than `deliveryIds`).
 */
export async function enqueueSubscribedAtOnce(
  store: Store,
  schedule: RetrySchedule,
  prepare: () => { event: NewEvent; deliveryIds: string[]; fanOut: FanOutEvent },
): Promise<string[] | "no_project" | null> {
  if (store.dialect !== "postgres") return null;
  const { event: e, deliveryIds, fanOut } = prepare();
  return publishEventPostgres(store.db, {
    ...e,
    ...knownFiltered(e.projectId, fanOut),
    traceContext: e.traceContext ?? null,
    maxAttempts: schedule.maxAttempts,
    retryDelays: JSON.stringify(schedule.retryDelaysMs),
    deliveryIds,
  });
}
