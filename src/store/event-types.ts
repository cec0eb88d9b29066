import { sql, type Kysely } from "kysely";
import type { EventType } from "../domain/catalog.js";
import { transact, type Store } from "./db.js";
import { isSqlite } from "./fixed-statement.js";
import type { Database, EventTypeRow } from "./schema.js";

type Db = Kysely<Database>;

export async function listEventTypes(db: Db): Promise<EventTypeRow[]> {
  return db.selectFrom("event_types").selectAll().orderBy("name").execute();
}

export async function upsertEventTypes(db: Db, types: EventType[], now: number): Promise<void> {
  for (const t of types) {
    const fields = { description: t.description, example: JSON.stringify(t.example ?? {}), schema: t.schema === null ? null : JSON.stringify(t.schema) };
    await db
      .insertInto("event_types")
      .values({ name: t.name, ...fields, created_at: now, updated_at: now })
      .onConflict((oc) => oc.column("name").doUpdateSet({ ...fields, updated_at: now }))
      .execute();
  }
}

/**
 * Writes `types` when the catalog holds none. Nodes starting together take turns, so the check and
 * the insert see each other's work: on PostgreSQL an advisory lock; on SQLite the group commit's
 * `begin immediate` (a deferred transaction that read the empty catalog could not then write once
 * another process had: SQLITE_BUSY at once, without waiting, and that node failed to start).
 */
export async function seedEmptyCatalog(st: Store, types: EventType[], now: number): Promise<void> {
  await transact(st, async (trx) => {
    if (!isSqlite(trx)) await sql`select pg_advisory_xact_lock(${sql.lit(CATALOG_LOCK_KEY)})`.execute(trx);
    const any = await trx.selectFrom("event_types").select("name").limit(1).executeTakeFirst();
    if (!any) await upsertEventTypes(trx, types, now);
  });
}

/** The seed's advisory lock key ("hlcatlog" in hex): nothing else on the database uses it. */
const CATALOG_LOCK_KEY = 0x686c6361746c6f67n;
