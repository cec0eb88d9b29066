/**
 * The dialect matrix: every integration suite runs once per database. Each call makes a fresh
 * database (a temp SQLite file, or a new PostgreSQL database on TEST_DATABASE_URL's server) and
 * drops it afterwards. Outside CI an unreachable PostgreSQL skips that half loudly; in CI it fails.
 * The API, delivery and scale-out suites run a third time through PgBouncer in transaction mode
 * (WITH_POOLER): the database is created directly, Hookline reaches it through TEST_PGBOUNCER_URL's
 * pooler with HOOKLINE_PG_POOLER=transaction (`.ci/pgbouncer` starts one). Without a pooler that
 * variant skips loudly outside CI and fails in CI, like PostgreSQL.
 * A caller that asks for a migrated database gets a copy of the run's migrated template (made once
 * by test/global-setup.ts) instead of running every migration again; it starts empty otherwise.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { inject } from "vitest";

/** "pgbouncer": PostgreSQL reached through PgBouncer in transaction mode. */
export type TestDialect = "sqlite" | "postgres" | "pgbouncer";

export const PG_ADMIN_URL = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
/** PgBouncer (transaction mode) in front of PG_ADMIN_URL's server; only its host and port are used. */
export const PGBOUNCER_URL = process.env.TEST_PGBOUNCER_URL ?? "postgres://postgres@127.0.0.1:6432/test";

/** Connects to `url` (PG_ADMIN_URL) and runs `select 1`: null when the server answers, else why not. */
export async function postgresProblem(connectTimeoutMs = 3000, url = PG_ADMIN_URL): Promise<string | null> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: connectTimeoutMs });
  try {
    await client.connect();
    await client.query("select 1");
    return null;
  } catch (err) {
    return (err as Error).message;
  } finally {
    await client.end().catch(() => {});
  }
}

async function probePostgres(): Promise<boolean> {
  const problem = await postgresProblem();
  if (problem === null) return true;
  if (process.env.CI) throw new Error(`PostgreSQL is required in CI but unreachable at ${PG_ADMIN_URL}: ${problem}`);
  console.warn(`\n*** PostgreSQL unreachable at ${PG_ADMIN_URL} (${problem}): SKIPPING the PostgreSQL half of the suite ***\n`);
  return false;
}

export const postgresAvailable: boolean = await probePostgres();

const wanted = (d: TestDialect) => !process.env.HOOKLINE_TEST_DIALECTS || process.env.HOOKLINE_TEST_DIALECTS.split(",").includes(d);

/** The dialects this run tests (HOOKLINE_TEST_DIALECTS=sqlite narrows it for a quick local run; list pgbouncer there to keep that run). */
export const DIALECTS: TestDialect[] = (["sqlite", "postgres"] as TestDialect[]).filter((d) => (d === "sqlite" || postgresAvailable) && wanted(d));

async function probePgBouncer(): Promise<boolean> {
  if (!postgresAvailable || !wanted("pgbouncer")) return false;
  const problem = await postgresProblem(3000, PGBOUNCER_URL);
  if (problem === null) return true;
  if (process.env.CI) throw new Error(`PgBouncer is required in CI but unreachable at ${PGBOUNCER_URL}: ${problem}`);
  console.warn(`\n*** PgBouncer unreachable at ${PGBOUNCER_URL} (${problem}): SKIPPING the suites' runs through a pooler (start one with .ci/pgbouncer) ***\n`);
  return false;
}

export const pgBouncerAvailable: boolean = await probePgBouncer();

/** DIALECTS, and PostgreSQL through PgBouncer in transaction mode when it is reachable. */
export const WITH_POOLER: TestDialect[] = pgBouncerAvailable ? [...DIALECTS, "pgbouncer"] : DIALECTS;
/** For PostgreSQL-only suites (which skip without PostgreSQL): directly, and through PgBouncer when it is reachable. */
export const POSTGRES_VARIANTS: TestDialect[] = pgBouncerAvailable ? ["postgres", "pgbouncer"] : ["postgres"];

export interface TestDatabase {
  /** What Hookline connects to (through the pooler for "pgbouncer"). */
  url: string;
  /** PostgreSQL: a direct connection to the same database (LISTEN, test-side checks). */
  directUrl: string;
  dialect: TestDialect;
  /** Folder for the data directory (admin token, secret key). */
  dataDir: string;
  drop(): Promise<void>;
}

/** What Hookline needs to reach `db`: DATABASE_URL, and through PgBouncer HOOKLINE_PG_POOLER (wake-ups then by polling). */
export function databaseEnv(db: TestDatabase): Record<string, string> {
  return { DATABASE_URL: db.url, ...(db.dialect === "pgbouncer" ? { HOOKLINE_PG_POOLER: "transaction" } : {}) };
}

/** Per dialect: the migrated template's SQLite file or PostgreSQL database name (null: none this run). */
export type MigratedTemplates = Record<"sqlite" | "postgres", string | null>;

declare module "vitest" {
  export interface ProvidedContext {
    migratedTemplates: MigratedTemplates;
  }
}

function migratedTemplate(dialect: TestDialect): string | null {
  return (inject("migratedTemplates") as MigratedTemplates | undefined)?.[dialect === "sqlite" ? "sqlite" : "postgres"] ?? null;
}

/** `base`'s server with `name` as the database. */
function databaseUrl(base: string, name: string): string {
  const url = new URL(base);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function createTestDatabase(dialect: TestDialect, opts: { migrated?: boolean } = {}): Promise<TestDatabase> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "hookline-test-"));
  const template = opts.migrated ? migratedTemplate(dialect) : null;
  if (dialect === "sqlite") {
    if (template) fs.copyFileSync(template, path.join(dataDir, "hookline.db"));
    return {
      url: path.join(dataDir, "hookline.db"),
      directUrl: path.join(dataDir, "hookline.db"),
      dialect,
      dataDir,
      async drop() {
        fs.rmSync(dataDir, { recursive: true, force: true });
      },
    };
  }
  const name = `hookline_test_${crypto.randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(template ? `create database ${name} template ${template}` : `create database ${name}`);
  await admin.end();
  return {
    url: databaseUrl(dialect === "pgbouncer" ? PGBOUNCER_URL : PG_ADMIN_URL, name),
    directUrl: databaseUrl(PG_ADMIN_URL, name),
    dialect,
    dataDir,
    async drop() {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
