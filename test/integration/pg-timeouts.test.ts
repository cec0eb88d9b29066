/**
 * PostgreSQL timeouts: a publish blocked by another session's ACCESS EXCLUSIVE lock answers
 * 503 unavailable with Retry-After after HOOKLINE_DB_LOCK_TIMEOUT_MS instead of hanging, and
 * succeeds once the lock is gone; a slow statement is cut by HOOKLINE_DB_STATEMENT_TIMEOUT_MS.
 */
import pg from "pg";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveConfig } from "../../src/config.js";
import { DIALECTS, POSTGRES_VARIANTS } from "../helpers/databases.js";
import { startHookline, type TestHookline } from "../helpers/hookline.js";
import { expectError } from "./support/api.js";

it("defaults: a 5 s lock timeout and a 30 s statement timeout", () => {
  const c = resolveConfig({});
  expect(c.dbLockTimeoutMs).toBe(5000);
  expect(c.dbStatementTimeoutMs).toBe(30_000);
});

describe.skipIf(!DIALECTS.includes("postgres")).each(POSTGRES_VARIANTS)("PostgreSQL timeouts (%s)", (dialect) => {
  let hl: TestHookline;
  let locker: pg.Client;
  beforeAll(async () => {
    hl = await startHookline({ dialect, env: { HOOKLINE_DB_LOCK_TIMEOUT_MS: "700", HOOKLINE_DB_STATEMENT_TIMEOUT_MS: "1500" } });
    await hl.project("acme");
    locker = new pg.Client({ connectionString: hl.db.directUrl });
    await locker.connect();
  });
  afterAll(async () => {
    await locker?.end().catch(() => {});
    await hl?.close();
  });

  it("a publish blocked by another connection's ACCESS EXCLUSIVE lock answers 503 with Retry-After", async () => {
    await locker.query("begin");
    await locker.query("lock table events in access exclusive mode");
    try {
      const started = Date.now();
      const res = await hl.api("POST", "/api/v1/projects/acme/events", { event: "issue.created", subject: { id: "BUG-1" } });
      const took = Date.now() - started;
      expectError(res, 503, "unavailable");
      expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(took).toBeGreaterThanOrEqual(600);
      expect(took).toBeLessThan(10_000);
    } finally {
      await locker.query("rollback");
    }
    const ok = await hl.api("POST", "/api/v1/projects/acme/events", { event: "issue.created", subject: { id: "BUG-1" } });
    expect(ok.status).toBe(202);
    // Nothing of the refused publish was stored: only the second event exists.
    const n = await hl.runtime.ctx.store.db
      .selectFrom("events")
      .select((eb) => eb.fn.countAll().as("n"))
      .executeTakeFirstOrThrow();
    expect(Number(n.n)).toBe(1);
  });

  it("a statement running past the statement timeout is cancelled", async () => {
    await expect(sql`select pg_sleep(3)`.execute(hl.runtime.ctx.store.db)).rejects.toMatchObject({ code: "57014" });
    // The pool's connections still work, with the timeouts they were opened with (behind a pooler in
    // transaction mode: set in the statement's own transaction).
    const r = await sql<{
      lock: string;
      statement: string;
    }>`select current_setting('lock_timeout') as lock, current_setting('statement_timeout') as statement`.execute(hl.runtime.ctx.store.db);
    expect(r.rows[0]).toEqual({ lock: "700ms", statement: "1500ms" });
  });
});
