/**
 * Migrations on PostgreSQL run under an advisory lock, so nodes starting at once (or `hookline
 * migrate` run beside them) never race: exactly one applies each migration, the others wait for it
 * and find nothing to do.
 */
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { migrate } from "../../src/store/migrations.js";
import { openStore } from "../../src/store/db.js";
import { createTestDatabase, DIALECTS, postgresAvailable, type TestDatabase } from "../helpers/databases.js";
import { runCli } from "../helpers/process.js";
import { sleep } from "../helpers/wait.js";
import { PG_MIGRATIONS } from "./support/migrations.js";

const pgEnabled = postgresAvailable && DIALECTS.includes("postgres");
const MIGRATION_LOCK_KEY = "7525356009530420837"; // src/store/migrations.ts

describe.skipIf(!pgEnabled)("migrations under an advisory lock (postgres)", () => {
  const dbs: TestDatabase[] = [];
  const fresh = async () => {
    const db = await createTestDatabase("postgres");
    dbs.push(db);
    return db;
  };
  afterEach(async () => {
    await Promise.all(dbs.splice(0).map((d) => d.drop()));
  });

  const tables = async (url: string) => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      const res = await c.query("select table_name from information_schema.tables where table_schema = 'public' order by 1");
      return res.rows.map((r) => r.table_name as string);
    } finally {
      await c.end();
    }
  };

  it("eight concurrent migrations on a fresh database: one applies, seven find it up to date", async () => {
    const db = await fresh();
    const stores = await Promise.all(Array.from({ length: 8 }, () => openStore({ databaseUrl: db.url, poolSize: 2 })));
    try {
      const results = await Promise.all(stores.map((s) => migrate(s.db)));
      expect(results.filter((r) => r.join() === PG_MIGRATIONS.join())).toHaveLength(1);
      expect(results.filter((r) => r.length === 0)).toHaveLength(7);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
    expect(await tables(db.url)).toEqual(expect.arrayContaining(["deliveries", "events", "log_entries", "webhooks", "projects", "kysely_migration"]));
  });

  it("three concurrent `hookline migrate` processes all succeed, and one applies", async () => {
    const db = await fresh();
    const procs = Array.from({ length: 3 }, () => runCli(["migrate"], { DATABASE_URL: db.url }));
    const codes = await Promise.all(procs.map((p) => p.exited));
    expect(codes).toEqual([0, 0, 0]);
    const outputs = procs.map((p) => p.output());
    expect(outputs.filter((o) => o.includes("Applied: 0001_initial"))).toHaveLength(1);
    expect(outputs.filter((o) => o.includes("The database is up to date."))).toHaveLength(2);
  });

  it("waits while another session holds the lock, Kysely's bookkeeping tables included", async () => {
    const db = await fresh();
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    const store = await openStore({ databaseUrl: db.url, poolSize: 2 });
    try {
      await holder.query(`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`);
      let done = false;
      const waiting = migrate(store.db).then((r) => {
        done = true;
        return r;
      });
      await sleep(700);
      expect(done).toBe(false);
      expect(await tables(db.url)).toEqual([]);
      await holder.query(`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`);
      expect(await waiting).toEqual(PG_MIGRATIONS);
    } finally {
      await holder.end();
      await store.close();
    }
  });
});
