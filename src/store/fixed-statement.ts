/**
 * The delivery hot path's statements (claim, load targets, record outcomes, publish): fixed SQL
 * text per dialect, run without Kysely's query builder. Building and compiling a Kysely query per
 * call was about 8 % of a busy node's CPU. The texts do not vary with the batch size (a JSON array
 * through `json_each` on SQLite, arrays through `= any($1)` / `unnest` on PostgreSQL; SQLite's claim
 * has one text per number of webhooks served), so SQLite parses each once (the connection's
 * statement cache, sqlite/open.ts) and PostgreSQL runs each as a named prepared statement
 * (postgres/statements.ts): parsed and planned once per connection (unnamed behind a pooler in
 * transaction mode).
 */
import { CompiledQuery, SqliteAdapter, type Kysely } from "kysely";

export interface FixedStatement {
  sqlite: string;
  postgres: string;
}

/** PostgreSQL texts to run as named prepared statements, by text. */
const pgNames = new Map<string, string>();

/** Declares a hot statement (at module load): its PostgreSQL text becomes a named prepared statement. */
export function fixedStatement(texts: FixedStatement): FixedStatement {
  if (!pgNames.has(texts.postgres)) pgNames.set(texts.postgres, `hookline_${pgNames.size + 1}`);
  return texts;
}

/** A PostgreSQL-only hot text (a dialect's own module), run as a named prepared statement. */
export function namedPostgres(text: string): string {
  return fixedStatement({ sqlite: "", postgres: text }).postgres;
}

/** The name a PostgreSQL connection prepares `text` under, or undefined when it is not a hot statement. */
export function preparedName(text: string): string | undefined {
  return pgNames.get(text);
}

const sqliteAdapters = new WeakSet<object>();

export function isSqlite(db: Kysely<any>): boolean {
  const adapter = db.getExecutor().adapter;
  if (sqliteAdapters.has(adapter)) return true;
  if (!(adapter instanceof SqliteAdapter)) return false;
  sqliteAdapters.add(adapter);
  return true;
}

/** A SQLite connection's cached prepared statements (sqlite/open.ts), by text. */
export type SqlitePrepare = (text: string) => { reader: boolean; all(params: unknown[]): unknown[]; run(params: unknown[]): { changes: number } };

/**
 * Connections whose statements run straight on better-sqlite3, past Kysely's executor (about a
 * tenth of the group commit's CPU, a promise chain per statement): the group commit's, while it
 * holds the connection (sqlite/group-commit.ts), so nothing else runs on it meanwhile.
 */
const direct = new WeakMap<object, SqlitePrepare>();

export function runDirectly(db: Kysely<any>, prepare: SqlitePrepare): void {
  direct.set(db, prepare);
}

/** Runs a text written for `db`'s dialect (a dialect's own module); answers its rows. */
export async function rawRows<T>(db: Kysely<any>, text: string, params: unknown[]): Promise<T[]> {
  const prepare = direct.get(db);
  if (prepare) return directRows(prepare, text, params) as T[];
  return (await db.executeQuery<T>(CompiledQuery.raw(text, params))).rows;
}

/** Runs the statement's text for `db`'s dialect; answers its rows (a statement with RETURNING, or a select). */
export async function fixedRows<T>(db: Kysely<any>, s: FixedStatement, params: unknown[]): Promise<T[]> {
  const prepare = direct.get(db);
  if (prepare) return directRows(prepare, s.sqlite, params) as T[];
  return (await db.executeQuery<T>(CompiledQuery.raw(isSqlite(db) ? s.sqlite : s.postgres, params))).rows;
}

/** Runs the statement; answers the rows it changed. */
export async function fixedRun(db: Kysely<any>, s: FixedStatement, params: unknown[]): Promise<number> {
  const prepare = direct.get(db);
  if (prepare) {
    const stmt = prepare(s.sqlite);
    // As Kysely's SQLite driver answers: a statement that returns rows reports no count.
    return stmt.reader ? (stmt.all(params), 0) : stmt.run(params).changes;
  }
  return Number((await db.executeQuery(CompiledQuery.raw(isSqlite(db) ? s.sqlite : s.postgres, params))).numAffectedRows ?? 0);
}

function directRows(prepare: SqlitePrepare, text: string, params: unknown[]): unknown[] {
  const stmt = prepare(text);
  if (stmt.reader) return stmt.all(params);
  stmt.run(params);
  return [];
}
