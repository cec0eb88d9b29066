/**
 * Enqueue: an event and its deliveries, written together. Each delivery carries its retry schedule
 * (max_attempts and the delays) as it was when the delivery was created, so a configuration change
 * applies to new deliveries only.
 */
import type { Store } from "../db.js";
import type { Database, DeliveriesTable, Trigger } from "../schema.js";
import type { Kysely } from "kysely";
import { publishEventPostgres } from "../postgres/publish-event.js";

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

/** Inserts the event (unless `eventExists`) and one pending delivery per entry, due now. */
export async function enqueue(db: Db, e: NewEvent, deliveries: NewDelivery[], schedule: RetrySchedule, eventExists = false): Promise<void> {
  if (!eventExists) {
    await db
      .insertInto("events")
      .values({ id: e.id, project_id: e.projectId, event: e.event, payload: e.payload, created_at: e.now, trace_context: e.traceContext ?? null })
      .execute();
  }
  if (deliveries.length === 0) return;
  const rows: DeliveriesTable[] = deliveries.map((d) => ({
    id: d.id,
    event_id: e.id,
    webhook_id: d.webhookId,
    project_id: e.projectId,
    trigger: d.trigger,
    status: "pending",
    attempts: 0,
    max_attempts: schedule.maxAttempts,
    retry_delays: JSON.stringify(schedule.retryDelaysMs),
    run_at: e.now,
    lease_token: null,
    created_at: e.now,
    updated_at: e.now,
  }));
  await db.insertInto("deliveries").values(rows).execute();
}

/**
 * A publish without an idempotency key in a single statement where the dialect has one
 * (PostgreSQL, postgres/publish-event.ts): the event plus a delivery for every enabled, subscribed
 * webhook. Answers the webhooks that got a delivery, or null when the caller must use the
 * transaction (SQLite, whose group commit makes that cheap, or more subscribers than `deliveryIds`).
 */
export async function enqueueSubscribedAtOnce(
  store: Store,
  schedule: RetrySchedule,
  prepare: () => { event: NewEvent; deliveryIds: string[] },
): Promise<string[] | null> {
  if (store.dialect !== "postgres") return null;
  const { event: e, deliveryIds } = prepare();
  return publishEventPostgres(store.db, {
    ...e,
    traceContext: e.traceContext ?? null,
    maxAttempts: schedule.maxAttempts,
    retryDelays: JSON.stringify(schedule.retryDelaysMs),
    deliveryIds,
  });
}
