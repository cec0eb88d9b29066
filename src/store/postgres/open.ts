import pg from "pg";
import { Kysely, PostgresDialect } from "kysely";
import type { Store } from "../db.js";
import type { Database } from "../schema.js";

// bigint columns hold epoch milliseconds and counters, all far below 2^53.
pg.types.setTypeParser(20, (v) => Number(v));

export function openPostgres(url: string, poolSize: number): Store {
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  // An idle client losing its connection (database restart) must not crash the process.
  pool.on("error", () => {});
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    dialect: "postgres",
    async close() {
      await db.destroy();
    },
  };
}
