import type { Kysely } from "kysely";
import type { Database, NotificationRow } from "./schema.js";

type Db = Kysely<Database>;

export async function listNotifications(db: Db, projectId: string, limit = 100): Promise<NotificationRow[]> {
  return db.selectFrom("notifications").selectAll().where("project_id", "=", projectId).orderBy("id", "desc").limit(limit).execute();
}

export async function markRead(db: Db, projectId: string, id: string, now: number): Promise<NotificationRow | undefined> {
  await db.updateTable("notifications").set({ read_at: now }).where("project_id", "=", projectId).where("id", "=", id).where("read_at", "is", null).execute();
  return db.selectFrom("notifications").selectAll().where("project_id", "=", projectId).where("id", "=", id).executeTakeFirst();
}

export async function insertNotification(db: Db, row: NotificationRow): Promise<void> {
  await db.insertInto("notifications").values(row).execute();
}

/** Notifications whose e-mail or callback is due (the outbox). */
export async function dueOutbox(db: Db, now: number, limit: number): Promise<NotificationRow[]> {
  return db
    .selectFrom("notifications")
    .selectAll()
    .where("outbox_run_at", "is not", null)
    .where("outbox_run_at", "<=", now)
    .orderBy("outbox_run_at")
    .limit(limit)
    .execute();
}

export async function updateOutbox(
  db: Db,
  id: string,
  changes: Partial<Pick<NotificationRow, "email_state" | "callback_state" | "outbox_run_at" | "outbox_attempts">>,
): Promise<void> {
  await db.updateTable("notifications").set(changes).where("id", "=", id).execute();
}
