/** Reading one stored event and where it went (GET …/events/{event_id}). */
import type { Kysely } from "kysely";
import type { Database } from "./schema.js";

type Db = Kysely<Database>;

export async function findEvent(db: Db, projectId: string, id: string) {
  return db.selectFrom("events").select(["id", "event", "payload", "created_at"]).where("project_id", "=", projectId).where("id", "=", id).executeTakeFirst();
}

/** Every delivery of the event (index deliveries_event), oldest first. */
export async function deliveriesOfEvent(db: Db, eventId: string) {
  return db.selectFrom("deliveries").select(["id", "webhook_id", "status", "attempts", "trigger"]).where("event_id", "=", eventId).orderBy("id").execute();
}

/** Every webhook of the project with what fan-out reads (store/fan-out.ts), for `not_delivered`. */
export async function webhooksForLookup(db: Db, projectId: string) {
  return db.selectFrom("webhooks").select(["id", "enabled", "events", "filter", "created_at"]).where("project_id", "=", projectId).orderBy("id").execute();
}
