/** Credentials every node of a cluster shares, stored once (first writer wins). */
import type { Kysely } from "kysely";
import type { ClusterCredentialsTable, Database } from "./schema.js";

/**
 * Stores `value` under `name` unless a value is there already, and answers the stored one: the
 * first node's value, whichever nodes race to store theirs.
 */
export async function claimCredential(db: Kysely<Database>, name: ClusterCredentialsTable["name"], value: string, now: number): Promise<string> {
  await db.insertInto("cluster_credentials").values({ name, value, created_at: now }).onConflict((oc) => oc.column("name").doNothing()).execute();
  const row = await db.selectFrom("cluster_credentials").select("value").where("name", "=", name).executeTakeFirstOrThrow();
  return row.value;
}
