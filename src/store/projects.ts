import { sql, type Kysely } from "kysely";
import type { Database, ProjectRow } from "./schema.js";
import { fixedRows, fixedStatement, isSqlite } from "./fixed-statement.js";

type Db = Kysely<Database>;

// Every publish reads its project: a fixed statement (fixed-statement.ts).
const FIND = fixedStatement({
  sqlite: "select id, name, notification_emails, created_at, updated_at from projects where id = ?",
  postgres: "select id, name, notification_emails, created_at, updated_at from projects where id = $1",
});

export async function findProject(db: Db, id: string): Promise<ProjectRow | undefined> {
  return (await fixedRows<ProjectRow>(db, FIND, [id]))[0];
}

export async function listProjects(db: Db): Promise<ProjectRow[]> {
  return db.selectFrom("projects").selectAll().orderBy("id").execute();
}

/** Inserts or updates; says which happened. */
export async function upsertProject(
  db: Db,
  p: { id: string; name: string; notificationEmails?: string[]; now: number },
): Promise<{ row: ProjectRow; created: boolean }> {
  return db.transaction().execute(async (trx) => {
    const row: ProjectRow = {
      id: p.id,
      name: p.name,
      notification_emails: JSON.stringify(p.notificationEmails ?? []),
      created_at: p.now,
      updated_at: p.now,
    };
    // Inserted unless the id exists (a concurrent PUT of the same id may have inserted meanwhile): then it is an update.
    const inserted = await trx
      .insertInto("projects")
      .values(row)
      .onConflict((oc) => oc.column("id").doNothing())
      .executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0) > 0) return { row, created: true };
    await trx
      .updateTable("projects")
      .set({ name: p.name, ...(p.notificationEmails ? { notification_emails: JSON.stringify(p.notificationEmails) } : {}), updated_at: p.now })
      .where("id", "=", p.id)
      .execute();
    return { row: (await findProject(trx, p.id))!, created: false };
  });
}

/** Deletes the project; its webhooks, deliveries, logs, events and notifications go with it (FK cascade). */
export async function deleteProject(db: Db, id: string): Promise<boolean> {
  if (isSqlite(db)) {
    const res = await db.deleteFrom("projects").where("id", "=", id).executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }
  // PostgreSQL: the project first, then its webhooks in id order, then the cascade takes the rest.
  // Everything else that locks a project and its webhooks takes the project first (a publish, a
  // webhook's PATCH); a record locks its webhooks in id order before their deliveries
  // (queue/attempted.ts, postgres/record-batch.ts). The cascade alone would take the webhooks in
  // whatever order it scans them, and two orders over the same rows can deadlock.
  return db.transaction().execute(async (trx) => {
    const found = await sql`select 1 from projects where id = ${id} for update`.execute(trx);
    if (found.rows.length === 0) return false;
    await sql`select 1 from webhooks where project_id = ${id} order by id for update`.execute(trx);
    const res = await trx.deleteFrom("projects").where("id", "=", id).executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  });
}
