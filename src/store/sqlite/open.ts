import SqliteDatabase from "better-sqlite3";
import { Kysely, SqliteDialect, type SqliteDatabase as KyselySqliteDatabase } from "kysely";
import type { Store } from "../db.js";
import type { Database } from "../schema.js";
import { GroupCommit } from "./group-commit.js";

/** Distinct SQL texts kept prepared; IN lists of varying length make a few hundred at most. */
const STATEMENT_CACHE_SIZE = 500;

export function openSqlite(file: string): Store {
  const sqlite = new SqliteDatabase(file);
  sqlite.pragma("journal_mode = WAL");
  sqlite.pragma("synchronous = NORMAL");
  sqlite.pragma("foreign_keys = ON");
  // Another process (a separate `hookline worker`) may hold the write lock briefly.
  sqlite.pragma("busy_timeout = 5000");
  // Statement journals (multi-row inserts inside a transaction) and sorts stay in memory instead of
  // a temp file created and unlinked each time; 16 MiB of page cache keeps the hot indexes in memory.
  sqlite.pragma("temp_store = MEMORY");
  sqlite.pragma("cache_size = -16000");
  const prepare = statementCache(sqlite);
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: { close: () => sqlite.close(), prepare } }) });
  return {
    db,
    dialect: "sqlite",
    groupCommit: new GroupCommit(db, prepare),
    async close() {
      await db.destroy();
    },
  };
}

/**
 * Kysely prepares every query anew, and parsing the SQL was the largest single cost of a busy
 * worker (about a quarter of its CPU). The SQL text Kysely compiles is stable per query shape, so
 * a small LRU of prepared statements makes the hot path parse nothing. Sharing a statement is safe:
 * Kysely runs one query at a time on the single SQLite connection, and the group commit's direct
 * statements (group-commit.ts) run while it holds that connection.
 */
function statementCache(sqlite: SqliteDatabase.Database): KyselySqliteDatabase["prepare"] & ((sql: string) => SqliteDatabase.Statement) {
  const cache = new Map<string, SqliteDatabase.Statement>();
  return (sql: string) => {
    let stmt = cache.get(sql);
    if (stmt) {
      cache.delete(sql);
    } else {
      stmt = sqlite.prepare(sql);
      if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
    }
    cache.set(sql, stmt);
    return stmt;
  };
}
