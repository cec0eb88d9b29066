import { sql, type Kysely, type Transaction } from "kysely";
import type { Database, DisabledReason, WebhookRow, WebhooksTable } from "./schema.js";
import { isSqlite } from "./fixed-statement.js";

type Db = Kysely<Database>;

export async function findWebhook(db: Db, projectId: string, id: string): Promise<WebhookRow | undefined> {
  return db.selectFrom("webhooks").selectAll().where("project_id", "=", projectId).where("id", "=", id).executeTakeFirst();
}

export async function listWebhooks(db: Db, projectId: string): Promise<WebhookRow[]> {
  return db.selectFrom("webhooks").selectAll().where("project_id", "=", projectId).orderBy("id").execute();
}

export async function countActive(db: Db, projectId: string): Promise<number> {
  const row = await db
    .selectFrom("webhooks")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("project_id", "=", projectId)
    .where("enabled", "=", 1)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * Serialises changes to one project's active set. PostgreSQL: a row lock on the project, held to
 * the end of the transaction, so the count-then-write of concurrent requests on any node is
 * ordered. FOR NO KEY UPDATE: it excludes the other changes and the project's deletion, not the
 * KEY SHARE locks of publishes and of the worker's notifications, which go on beside it (a
 * worker holding a webhook and waiting for the project here would deadlock with a PATCH holding
 * the project and waiting for that webhook). SQLite: writes are serialised already (one
 * connection, one writer).
 */
export async function lockProject(trx: Transaction<Database>, projectId: string): Promise<boolean> {
  if (!isSqlite(trx)) {
    const res = await sql<{ id: string }>`select id from projects where id = ${projectId} for no key update`.execute(trx);
    return res.rows.length > 0;
  }
  const row = await trx.selectFrom("projects").select("id").where("id", "=", projectId).executeTakeFirst();
  return row !== undefined;
}

export async function insertWebhook(db: Db, row: WebhookRow): Promise<void> {
  await db.insertInto("webhooks").values(row).execute();
}

export async function updateWebhook(
  db: Db,
  projectId: string,
  id: string,
  changes: Partial<Omit<WebhooksTable, "id" | "project_id" | "created_at">>,
): Promise<void> {
  await db.updateTable("webhooks").set(changes).where("project_id", "=", projectId).where("id", "=", id).execute();
}

/** Disables the webhook if it is enabled; answers whether this call disabled it (a concurrent one finds it disabled). */
export async function markDisabled(db: Db, id: string, reason: DisabledReason, now: number): Promise<boolean> {
  const res = await db
    .updateTable("webhooks")
    .set({ enabled: 0, disabled_reason: reason, disabled_at: now, updated_at: now })
    .where("id", "=", id)
    .where("enabled", "=", 1)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

/** Deletes the webhook; its deliveries and log entries go with it (FK cascade). */
export async function deleteWebhook(db: Db, projectId: string, id: string): Promise<boolean> {
  const res = await db.deleteFrom("webhooks").where("project_id", "=", projectId).where("id", "=", id).executeTakeFirst();
  return Number(res.numDeletedRows) > 0;
}

/** The newest attempt of each webhook, for the overview's "Last delivery" column. */
export async function lastAttempts(db: Db, webhookIds: string[]): Promise<Map<string, { success: number; created_at: number; status_code: number | null }>> {
  const out = new Map<string, { success: number; created_at: number; status_code: number | null }>();
  for (const id of webhookIds) {
    const row = await db
      .selectFrom("log_entries")
      .select(["success", "created_at", "status_code"])
      .where("webhook_id", "=", id)
      .orderBy("id", "desc")
      .limit(1)
      .executeTakeFirst();
    if (row) out.set(id, row);
  }
  return out;
}
