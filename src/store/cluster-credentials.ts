/** Credentials every node of a cluster shares, stored once (first writer wins). */
import type { Kysely } from "kysely";
import type { ClusterCredentialsTable, Database } from "./schema.js";

/**
 * Stores `value` under `name` unless a value is there already, and answers the stored one: the
 * first node's value, whichever nodes race to store theirs.
 */
export async function claimCredential(db: Kysely<Database>, name: ClusterCredentialsTable["name"], value: string, now: number): Promise<string> {
  await db
    .insertInto("cluster_credentials")
    .values({ name, value, created_at: now })
    .onConflict((oc) => oc.column("name").doNothing())
    .execute();
  const row = await db.selectFrom("cluster_credentials").select("value").where("name", "=", name).executeTakeFirstOrThrow();
  return row.value;
}

/** Replaces a stored credential's value (re-sealing it under a new key). */
export async function replaceCredential(db: Kysely<Database>, name: ClusterCredentialsTable["name"], value: string): Promise<void> {
  await db.updateTable("cluster_credentials").set({ value }).where("name", "=", name).execute();
}

export async function findCredential(db: Kysely<Database>, name: ClusterCredentialsTable["name"]): Promise<string | undefined> {
  return (await db.selectFrom("cluster_credentials").select("value").where("name", "=", name).executeTakeFirst())?.value;
}
