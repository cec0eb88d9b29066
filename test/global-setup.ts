/**
 * Before any test file runs: builds dist/ when the sources are newer than the build (tests that
 * spawn `node bin/hookline.js` need it, and building inside parallel test files would race), and
 * migrates one template database per dialect that test/helpers/databases.ts copies for every test
 * that starts Hookline in-process, so each of them does not run every migration again. Teardown
 * drops the templates.
 */
import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import type { TestProject } from "vitest/node";
import { openStore } from "../src/store/db.js";
import { migrate } from "../src/store/migrations.js";
import { DIALECTS, PG_ADMIN_URL, type MigratedTemplates } from "./helpers/databases.js";

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : fs.statSync(p).mtimeMs);
  }
  return newest;
}

function build(): void {
  const root = path.resolve(import.meta.dirname, "..");
  const built = fs.existsSync(path.join(root, "dist/cli/main.js")) ? fs.statSync(path.join(root, "dist/cli/main.js")).mtimeMs : 0;
  if (built === 0 || newestMtime(path.join(root, "src")) > built) {
    try {
      execFileSync(process.execPath, [path.join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"], { cwd: root, stdio: "inherit" });
    } catch (err) {
      // Type errors still emit JavaScript; `npm test` runs the strict build before this anyway.
      if (!fs.existsSync(path.join(root, "dist/cli/main.js"))) throw err;
    }
    // tsc leaves unchanged outputs untouched; mark the build fresh.
    const now = new Date();
    fs.utimesSync(path.join(root, "dist/cli/main.js"), now, now);
  }
}

async function migrated(databaseUrl: string): Promise<void> {
  const store = await openStore({ databaseUrl });
  try {
    await migrate(store.db);
  } finally {
    await store.close();
  }
}

async function adminQuery(statement: string): Promise<void> {
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(statement);
  } finally {
    await admin.end();
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  build();
  const templates: MigratedTemplates = { sqlite: null, postgres: null };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hookline-template-"));
  if (DIALECTS.includes("sqlite")) {
    await migrated(path.join(dir, "hookline.db"));
    templates.sqlite = path.join(dir, "hookline.db");
  }
  if (DIALECTS.includes("postgres")) {
    // Nobody connects to the template after this, as CREATE DATABASE … TEMPLATE requires.
    const name = `hookline_template_${crypto.randomBytes(6).toString("hex")}`;
    await adminQuery(`create database ${name}`);
    const url = new URL(PG_ADMIN_URL);
    url.pathname = `/${name}`;
    await migrated(url.toString());
    templates.postgres = name;
  }
  project.provide("migratedTemplates", templates);
  return async () => {
    if (templates.postgres) await adminQuery(`drop database if exists ${templates.postgres} with (force)`);
    fs.rmSync(dir, { recursive: true, force: true });
  };
}
