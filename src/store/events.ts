/** What a publish reads and writes besides the queue (store/queue/enqueue.ts) and fan-out (store/fan-out.ts): idempotency records. */
import type { Kysely } from "kysely";
import type { Database } from "./schema.js";

type Db = Kysely<Database>;

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
  await db.deleteFrom("idempotency_keys").where("project_id", "=", r.projectId).where("key", "=", r.key).where("created_at", "<", r.notBefore).execute();
  const res = await db
    .insertInto("idempotency_keys")
    .values({ project_id: r.projectId, key: r.key, response: JSON.stringify(r.response), created_at: r.now })
    .onConflict((oc) => oc.columns(["project_id", "key"]).doNothing())
    .executeTakeFirst();
  return Number(res.numInsertedOrUpdatedRows ?? 0) > 0;
}
