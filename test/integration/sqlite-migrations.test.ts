/**
 * Migrations on SQLite run in one transaction that takes the write lock before reading which are
 * applied, so processes migrating one fresh file at once take turns: one applies every migration,
 * the others find it up to date. Without that lock, two processes read the same empty bookkeeping
 * table and the second failed ("table already exists", "duplicate column name"); the race is
 * timing-dependent, so the test runs several rounds of real processes.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DEFAULT_CATALOG } from "../../src/domain/catalog.js";
import { openStore } from "../../src/store/db.js";
import { seedEmptyCatalog } from "../../src/store/event-types.js";
import { migrate } from "../../src/store/migrations.js";
import { DIALECTS } from "../helpers/databases.js";
import { runCli } from "../helpers/process.js";

const ROUNDS = 8;
const PROCESSES = 3;

describe.skipIf(!DIALECTS.includes("sqlite"))("concurrent migrations (sqlite)", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hookline-sqlite-migrate-"));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it(`${PROCESSES} \`hookline migrate\` processes on a fresh file, ${ROUNDS} times: all succeed, one applies`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const file = path.join(dir, `round-${round}.db`);
      const procs = Array.from({ length: PROCESSES }, () => runCli(["migrate"], { DATABASE_URL: file }));
      const codes = await Promise.all(procs.map((p) => p.exited));
      const outputs = procs.map((p) => p.output());
      expect(codes, `round ${round}:\n${outputs.join("\n---\n")}`).toEqual(Array(PROCESSES).fill(0));
      expect(
        outputs.filter((o) => o.includes("Applied: 0001_initial")),
        `round ${round}`,
      ).toHaveLength(1);
      expect(
        outputs.filter((o) => o.includes("The database is up to date.")),
        `round ${round}`,
      ).toHaveLength(PROCESSES - 1);
    }
  }, 120_000);
});

/**
 * Nodes starting together on one migrated file each seed the empty event-type catalog. The check
 * (is it empty?) and the insert must hold the write lock from the start: a transaction that read
 * first and then wrote after another connection's commit got SQLITE_BUSY at once, without the busy
 * timeout's wait, and that node failed to start ("database is locked").
 */
describe.skipIf(!DIALECTS.includes("sqlite"))("nodes seeding the catalog at once (sqlite)", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hookline-sqlite-seed-"));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("4 connections seed one empty catalog together, 10 times: none fails, the catalog is written once", async () => {
    for (let round = 0; round < 10; round++) {
      const file = path.join(dir, `round-${round}.db`);
      const first = await openStore({ databaseUrl: file });
      await migrate(first.db);
      const stores = [first, ...(await Promise.all(Array.from({ length: 3 }, () => openStore({ databaseUrl: file }))))];
      try {
        const results = await Promise.allSettled(stores.map((st) => seedEmptyCatalog(st, DEFAULT_CATALOG, Date.now())));
        expect(
          results.filter((r) => r.status === "rejected").map((r) => String((r as PromiseRejectedResult).reason)),
          `round ${round}`,
        ).toEqual([]);
        const rows = await first.db.selectFrom("event_types").select("name").execute();
        expect(rows.length, `round ${round}`).toBe(DEFAULT_CATALOG.length);
      } finally {
        await Promise.all(stores.map((st) => st.close()));
      }
    }
  }, 60_000);
});
