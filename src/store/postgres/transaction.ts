/**
 * A transaction whose BEGIN carries its settings (`set local …`) in the same round trip: Kysely's
 * own transaction sends `begin` alone, and a `set local` after it costs one more round trip.
 */
import { sql, type Kysely } from "kysely";
import type { Database } from "../schema.js";

export function transactionWith<T>(db: Kysely<Database>, settings: string, work: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
  return db.connection().execute(async (conn) => {
    await sql.raw(`begin; ${settings}`).execute(conn);
    let result: T;
    try {
      result = await work(conn);
    } catch (err) {
      await sql
        .raw("rollback")
        .execute(conn)
        .catch(() => {});
      throw err;
    }
    await sql.raw("commit").execute(conn);
    return result;
  });
}
