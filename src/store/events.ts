/** The publish transaction: the event, its fan-out deliveries and the idempotency record, all or nothing. */
import type { Kysely } from "kysely";
import type { Database, DeliveriesTable, Trigger } from "./schema.js";

type Db = Kysely<Database>;

export interface NewDelivery {
  id: string;
  webhookId: string;
  trigger: Trigger;
  maxAttempts: number;
}

export async function insertEventWithDeliveries(
  db: Db,
  e: { id: string; projectId: string; event: string; payload: string; now: number; traceContext?: string | null },
  deliveries: NewDelivery[],
): Promise<void> {
  await db
    .insertInto("events")
    .values({ id: e.id, project_id: e.projectId, event: e.event, payload: e.payload, created_at: e.now, trace_context: e.traceContext ?? null })
    .execute();
  if (deliveries.length === 0) return;
  const rows: DeliveriesTable[] = deliveries.map((d) => ({
    id: d.id,
    event_id: e.id,
    webhook_id: d.webhookId,
    project_id: e.projectId,
    trigger: d.trigger,
    status: "pending",
    attempts: 0,
    max_attempts: d.maxAttempts,
    run_at: e.now,
    lease_token: null,
    created_at: e.now,
    updated_at: e.now,
  }));
  await db.insertInto("deliveries").values(rows).execute();
}

/** Enabled webhooks of the project, with their subscriptions, for fan-out. */
export async function subscribedWebhookIds(db: Db, projectId: string, event: string): Promise<string[]> {
  const rows = await db
    .selectFrom("webhooks")
    .select(["id", "events"])
    .where("project_id", "=", projectId)
    .where("enabled", "=", 1)
    .execute();
  return rows.filter((r) => (JSON.parse(r.events) as string[]).includes(event)).map((r) => r.id);
}

export async function findIdempotentResponse(db: Db, projectId: string, key: string, notBefore: number): Promise<unknown | undefined> {
  const row = await db
    .selectFrom("idempotency_keys")
    .select(["response", "created_at"])
    .where("project_id", "=", projectId)
    .where("key", "=", key)
    .executeTakeFirst();
  if (!row || row.created_at < notBefore) return undefined;
  return JSON.parse(row.response);
}

/** Records the key's answer; false when another request recorded it first (the caller rolls back). */
export async function saveIdempotentResponse(
  db: Db,
  r: { projectId: string; key: string; response: unknown; now: number; notBefore: number },
): Promise<boolean> {
  await db
    .deleteFrom("idempotency_keys")
    .where("project_id", "=", r.projectId)
    .where("key", "=", r.key)
    .where("created_at", "<", r.notBefore)
    .execute();
  const res = await db
    .insertInto("idempotency_keys")
    .values({ project_id: r.projectId, key: r.key, response: JSON.stringify(r.response), created_at: r.now })
    .onConflict((oc) => oc.columns(["project_id", "key"]).doNothing())
    .executeTakeFirst();
  return Number(res.numInsertedOrUpdatedRows ?? 0) > 0;
}
