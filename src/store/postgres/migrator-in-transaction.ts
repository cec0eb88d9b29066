/**
 * Kysely's migrator on PostgreSQL takes a session advisory lock and opens a transaction of its own.
 * migrations.ts runs it inside a transaction that already holds a transaction-scoped lock instead
 * (nothing outliving the transaction, so it works through a pooler in transaction mode): this gives
 * the migrator a Kysely whose statements all run in that transaction, and an adapter that neither
 * locks nor begins.
 */
import { Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler, type CompiledQuery, type DatabaseConnection, type Transaction } from "kysely";

/** No lock of its own: the caller's transaction holds MIGRATION_LOCK_KEY (Kysely's is session-scoped). */
class LockHeldAdapter extends PostgresAdapter {
  override get supportsTransactionalDdl(): boolean {
    return false; // already inside the caller's transaction
  }
  override async acquireMigrationLock(): Promise<void> {}
  override async releaseMigrationLock(): Promise<void> {}
}

/** A Kysely whose every statement runs in `trx`, for the migrator (Kysely cannot migrate on a Transaction). */
export function insideTransaction(trx: Transaction<any>): Kysely<any> {
  const connection: DatabaseConnection = {
    executeQuery: <R>(query: CompiledQuery) => trx.executeQuery<R>(query),
    streamQuery: () => {
      throw new Error("streaming is not used by migrations");
    },
  };
  const nested = async () => {
    throw new Error("migrations run in one transaction; a nested one is not supported");
  };
  return new Kysely({
    dialect: {
      createAdapter: () => new LockHeldAdapter(),
      createDriver: () => ({
        init: async () => {},
        acquireConnection: async () => connection,
        beginTransaction: nested,
        commitTransaction: nested,
        rollbackTransaction: nested,
        releaseConnection: async () => {},
        destroy: async () => {},
      }),
      createQueryCompiler: () => new PostgresQueryCompiler(),
      createIntrospector: (db) => new PostgresIntrospector(db),
    },
  });
}
