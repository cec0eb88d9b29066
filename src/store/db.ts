/**
 * Opens the database a DATABASE_URL names: PostgreSQL for postgres:// URLs, otherwise a SQLite file
 * (WAL mode, foreign keys on). Dialect differences stay in src/store, behind functions: store
 * functions find the dialect from the `db` they are given (fixed-statement.ts's `isSqlite`), and
 * what only one dialect has is an optional member of the Store (`wakeups`, `hostTransactions`,
 * `workerDb`).
 * Nothing above the store reads `dialect` to branch on it.
 */
import fs from "node:fs";
import path from "node:path";
import type { Kysely, Transaction } from "kysely";
import type { Database } from "./schema.js";
import type { DeliveryListener, DeliveryNotifier, WakeupLog } from "./postgres/notifier.js";
import type { GroupCommit } from "./sqlite/group-commit.js";
import { openSqlite } from "./sqlite/open.js";

export type Dialect = "sqlite" | "postgres";

export interface Store {
  db: Kysely<Database>;
  dialect: Dialect;
  /** Closes every connection. */
  close(): Promise<void>;
  /** SQLite: write transactions issued together share one commit (see sqlite/group-commit.ts). */
  groupCommit?: GroupCommit;
  /**
   * PostgreSQL: wakes the workers of every node (NOTIFY after a publish, one LISTEN connection per
   * worker; postgres/notifier.ts). Absent on SQLite: a worker polls the file, and one in the
   * publishing process hears its "published" signal.
   */
  wakeups?: {
    notifier(log: WakeupLog): DeliveryNotifier;
    /** Absent when nothing is to be listened on (behind a pooler without HOOKLINE_PG_LISTEN_URL: workers poll). */
    listener?(onWake: () => void, log: WakeupLog): DeliveryListener;
  };
  /** PostgreSQL: a publish may write inside the host app's own transaction (postgres/host-transaction.ts). */
  hostTransactions?: true;
  /**
   * PostgreSQL: the delivery worker's door into the pool of `db`: the same connections, but the
   * worker's claims, records and releases go ahead of the statements already waiting (the API's).
   * A burst of publishes otherwise took every connection, and each claim and record waited behind
   * them (postgres/open.ts, PoolDoors). Absent (SQLite): the worker uses `db`.
   */
  workerDb?: Kysely<Database>;
}

export interface OpenOptions {
  databaseUrl: string;
  /** PostgreSQL pool size. */
  poolSize?: number;
  /** PostgreSQL: how long a statement may wait for a lock before it fails (0: forever). */
  lockTimeoutMs?: number;
  /** PostgreSQL: how long a statement may run before it is cancelled (0: forever). */
  statementTimeoutMs?: number;
  /** PostgreSQL: DATABASE_URL goes through a pooler in transaction mode (HOOKLINE_PG_POOLER=transaction). */
  pooler?: boolean;
  /** PostgreSQL: the connection workers LISTEN on for wake-ups (notifier.ts listenUrlOf); none: they poll. */
  listenUrl?: string;
}

/** Runs `work` in a transaction; on SQLite it may share its commit with others issued together. */
export function transact<T>(store: Store, work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
  return store.groupCommit ? store.groupCommit.run(work) : store.db.transaction().execute(work);
}

/**
 * Runs `work`, whose statements need no transaction of their own. On SQLite it joins the group
 * commit, so its writes share one WAL commit with the others issued in the same turn.
 */
export function sharedCommit<T>(store: Store, work: (db: Kysely<Database>) => Promise<T>): Promise<T> {
  return store.groupCommit ? store.groupCommit.run(work) : work(store.db);
}

export async function openStore(opts: OpenOptions): Promise<Store> {
  if (/^postgres(ql)?:\/\//i.test(opts.databaseUrl)) {
    const { openPostgres } = await import("./postgres/open.js");
    const rules = { pooler: opts.pooler ?? false, lockTimeoutMs: opts.lockTimeoutMs ?? 0, statementTimeoutMs: opts.statementTimeoutMs ?? 0 };
    return openPostgres(opts.databaseUrl, opts.poolSize ?? 10, rules, opts.listenUrl);
  }
  const file = opts.databaseUrl.replace(/^sqlite:(\/\/)?/, "");
  if (file !== ":memory:") fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  return openSqlite(file);
}
