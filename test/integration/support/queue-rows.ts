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
      rows.push({
        id: `dlv_${tag}_${pad(i)}_${h}`,
        event_id: `evt_${tag}`,
        webhook_id: webhookId,
        project_id: projectId,
        trigger: "event",
        status: "pending",
        attempts: 0,
        max_attempts: 4,
        run_at: t0 + i,
        lease_token: null,
        created_at: t0,
        updated_at: t0,
      });
    }
  }
  for (let i = 0; i < rows.length; i += 300)
    await db
      .insertInto("deliveries")
      .values(rows.slice(i, i + 300))
      .execute();
}
