import type { Kysely } from "kysely";
import type { EventType } from "../domain/catalog.js";
import type { Database, EventTypeRow } from "./schema.js";

type Db = Kysely<Database>;

export async function listEventTypes(db: Db): Promise<EventTypeRow[]> {
  return db.selectFrom("event_types").selectAll().orderBy("name").execute();
}

export async function upsertEventTypes(db: Db, types: EventType[], now: number): Promise<void> {
  for (const t of types) {
    await db
      .insertInto("event_types")
      .values({ name: t.name, description: t.description, example: JSON.stringify(t.example ?? {}), created_at: now, updated_at: now })
      .onConflict((oc) =>
        oc.column("name").doUpdateSet({ description: t.description, example: JSON.stringify(t.example ?? {}), updated_at: now }),
      )
      .execute();
  }
}

/** Makes the table hold exactly `types` (used when an operator file replaces the catalog). */
export async function replaceEventTypes(db: Db, types: EventType[], now: number): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const names = types.map((t) => t.name);
    await trx.deleteFrom("event_types").where("name", "not in", names).execute();
    await upsertEventTypes(trx, types, now);
  });
}
