/**
 * Transactional publish: a Kysely that runs every statement on the host app's own connection,
 * inside the transaction the host opened (a node-postgres client, or a Kysely transaction). Nothing
 * here begins, commits or releases: the host's transaction decides whether the rows exist.
 */
import { Kysely, PostgresDialect, sql } from "kysely";
import type { Database } from "../schema.js";
import { DELIVERIES_CHANNEL } from "./notifier.js";

/** What a node-postgres `Client` or `PoolClient` offers that Kysely needs. */
export interface PgQueryable {
  query(text: string, values?: unknown[]): Promise<unknown>;
}

export type HostTransaction = PgQueryable | Kysely<any>;

export function isKysely(x: unknown): x is Kysely<any> {
  return (
    x instanceof Kysely ||
    (typeof x === "object" && x !== null && typeof (x as Kysely<any>).selectFrom === "function" && typeof (x as Kysely<any>).executeQuery === "function")
  );
}

export function isHostTransaction(x: unknown): x is HostTransaction {
  return isKysely(x) || (typeof x === "object" && x !== null && typeof (x as PgQueryable).query === "function");
}

/**
 * A Kysely over the host's transaction. For a pg client: a one-connection "pool" that hands out
 * the client and never releases it (the host does). Close it with `destroy()`: that ends nothing
 * of the client's.
 */
export function hostKysely(tx: HostTransaction): { db: Kysely<Database>; done(): Promise<void> } {
  if (isKysely(tx)) return { db: tx as Kysely<Database>, done: async () => {} };
  const client = { query: tx.query.bind(tx), release() {} };
  const pool = { connect: async () => client, end: async () => {} };
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: pool as never }) });
  return { db, done: () => db.destroy() };
}

/** Wakes every worker when (and only if) the host's transaction commits: NOTIFY is delivered at commit. */
export async function notifyOnCommit(db: Kysely<Database>): Promise<void> {
  await sql`select pg_notify(${DELIVERIES_CHANNEL}, '')`.execute(db);
}
