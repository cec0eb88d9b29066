/**
 * Opens the database a DATABASE_URL names: PostgreSQL for postgres:// URLs, otherwise a SQLite file
 * (WAL mode, foreign keys on). Everything above the store sees only Kysely<Database> and the dialect.
 */
import fs from "node:fs";
import path from "node:path";
import { Kysely } from "kysely";
import type { Database } from "./schema.js";
import { openSqlite } from "./sqlite/open.js";

export type Dialect = "sqlite" | "postgres";

export interface Store {
  db: Kysely<Database>;
  dialect: Dialect;
  /** Closes every connection. */
  close(): Promise<void>;
}

export interface OpenOptions {
  databaseUrl: string;
  /** PostgreSQL pool size. */
  poolSize?: number;
}

export async function openStore(opts: OpenOptions): Promise<Store> {
  if (/^postgres(ql)?:\/\//i.test(opts.databaseUrl)) {
    const { openPostgres } = await import("./postgres/open.js");
    return openPostgres(opts.databaseUrl, opts.poolSize ?? 10);
  }
  const file = opts.databaseUrl.replace(/^sqlite:(\/\/)?/, "");
  if (file !== ":memory:") fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  return openSqlite(file);
}
