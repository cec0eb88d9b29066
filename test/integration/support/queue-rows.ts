import type { Kysely } from "kysely";
import type { Database, DeliveriesTable } from "../../../src/store/schema.js";

/**
 * Queues `perHook` pending deliveries for each webhook straight into the table, interleaved in time
 * (row i of every webhook due at t0 + i), with ids `dlv_<tag>_<i>_<webhook index>`.
 */
export async function queueRows(db: Kysely<Database>, projectId: string, hooks: string[], tag: string, perHook: number, t0: number): Promise<void> {
  const pad = (i: number) => String(i).padStart(5, "0");
  await db
    .insertInto("events")
    .values({ id: `evt_${tag}`, project_id: projectId, event: "test-run.completed", payload: "{}", created_at: t0 })
    .execute();
  const rows: DeliveriesTable[] = [];
  for (let i = 0; i < perHook; i++) {
    for (const [h, webhookId] of hooks.entries()) {
      rows.push({ ...deliveryRow(`dlv_${tag}_${pad(i)}_${h}`, `evt_${tag}`, webhookId, projectId, t0, { attempts: 0 }), run_at: t0 + i });
    }
  }
  for (let i = 0; i < rows.length; i += 300)
    await db
      .insertInto("deliveries")
      .values(rows.slice(i, i + 300))
      .execute();
}

/**
 * A delivery row as a test writes it straight into the table: an event delivery, unleased, run,
 * created and updated at `at`; pending after one attempt of four unless `over` says otherwise.
 */
export function deliveryRow(
  id: string,
  eventId: string,
  webhookId: string,
  projectId: string,
  at: number,
  over: Partial<DeliveriesTable> = {},
): DeliveriesTable {
  return {
    id,
    event_id: eventId,
    webhook_id: webhookId,
    project_id: projectId,
    trigger: "event",
    status: "pending",
    attempts: 1,
    max_attempts: 4,
    run_at: at,
    lease_token: null,
    created_at: at,
    updated_at: at,
    ...over,
  };
}
