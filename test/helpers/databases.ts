/**
 * The dialect matrix: every integration suite runs once per database. Each call makes a fresh
 * database (a temp SQLite file, or a new PostgreSQL database on TEST_DATABASE_URL's server) and
 * drops it afterwards. Outside CI an unreachable PostgreSQL skips that half loudly; in CI it fails.
 * A caller that asks for a migrated database gets a copy of the run's migrated template (made once
 * by test/global-setup.ts) instead of running every migration again; it starts empty otherwise.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { inject } from "vitest";

export type TestDialect = "sqlite" | "postgres";

export const PG_ADMIN_URL = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

/** Connects to PG_ADMIN_URL and runs `select 1`: null when the server answers, else why not. */
export async function postgresProblem(connectTimeoutMs = 3000): Promise<string | null> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: connectTimeoutMs });
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

/** The dialects this run tests (HOOKLINE_TEST_DIALECTS=sqlite narrows it for a quick local run). */
export const DIALECTS: TestDialect[] = (["sqlite", "postgres"] as TestDialect[]).filter(
  (d) => (d === "sqlite" || postgresAvailable) && (!process.env.HOOKLINE_TEST_DIALECTS || process.env.HOOKLINE_TEST_DIALECTS.split(",").includes(d)),
);

export interface TestDatabase {
  url: string;
  dialect: TestDialect;
  /** Folder for the data directory (admin token, secret key). */
  dataDir: string;
  drop(): Promise<void>;
}

/** Per dialect: the migrated template's SQLite file or PostgreSQL database name (null: none this run). */
export type MigratedTemplates = Record<TestDialect, string | null>;

declare module "vitest" {
  export interface ProvidedContext {
    migratedTemplates: MigratedTemplates;
  }
}

function migratedTemplate(dialect: TestDialect): string | null {
  return (inject("migratedTemplates") as MigratedTemplates | undefined)?.[dialect] ?? null;
}

export async function createTestDatabase(dialect: TestDialect, opts: { migrated?: boolean } = {}): Promise<TestDatabase> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "hookline-test-"));
  const template = opts.migrated ? migratedTemplate(dialect) : null;
  if (dialect === "sqlite") {
    if (template) fs.copyFileSync(template, path.join(dataDir, "hookline.db"));
    return {
      url: path.join(dataDir, "hookline.db"),
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
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
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
