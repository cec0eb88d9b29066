/**
 * Storage faults at publish time (SPEC §3 "Nothing accepted with a 2xx from the publish API is
 * lost"): when the database cannot take the write — SQLite locked by another process past its busy
 * timeout, full, or read-only; PostgreSQL switched to read-only (as a failed-over old primary is) —
 * the publish call answers `503 unavailable` with Retry-After and stores nothing, reads keep working,
 * and once the fault clears, publishing works again and what was accepted before it is delivered.
 * Each fault is real: a second connection holding the write lock, PRAGMA max_page_count (SQLite's
 * own disk-full path), PRAGMA query_only, and ALTER DATABASE … default_transaction_read_only.
 */
import SqliteDatabase from "better-sqlite3";
import { sql } from "kysely";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DIALECTS, PG_ADMIN_URL } from "../helpers/databases.js";
import { startHookline, type TestHookline } from "../helpers/hookline.js";
import { startReceiver, type Receiver } from "../helpers/receiver.js";
import { eventually } from "../helpers/wait.js";
import { expectError } from "./support/api.js";

async function countEvents(hl: TestHookline): Promise<number> {
  const row = await hl.runtime.ctx.store.db
    .selectFrom("events")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

const publish = (hl: TestHookline, subject: unknown) => hl.api("POST", "/api/v1/projects/acme/events", { event: "issue.created", subject });

function expectUnavailable(res: Awaited<ReturnType<typeof publish>>, what: string): void {
  expect(res.status, `${what}: ${JSON.stringify(res.body)}`).toBe(503);
  expectError(res, 503, "unavailable");
  expect(res.body.error.message).toMatch(/nothing was stored/);
  expect(res.headers.get("retry-after")).toBe("1");
}

describe.runIf(DIALECTS.includes("sqlite"))("SQLite faults at publish time", () => {
  let rx: Receiver;
  let hl: TestHookline;
  beforeAll(async () => {
    rx = await startReceiver();
    hl = await startHookline({ dialect: "sqlite", worker: true, ca: rx.ca });
    await hl.project("acme");
    expect((await hl.api("POST", "/api/v1/projects/acme/webhooks", { name: "h", events: ["issue.created"], url: `${rx.url}/in` })).status).toBe(201);
  });
  afterAll(async () => {
    await hl?.close();
    await rx?.close();
  });

  /** Publishes one event before the fault, then `n` during it, then one after; checks the lot. */
  async function throughFault(name: string, start: () => Promise<void> | void, stop: () => Promise<void> | void, n = 3): Promise<void> {
    const before = await publish(hl, { fault: name, when: "before" });
    expect(before.status).toBe(202);
    const events = await countEvents(hl);
    await start();
    try {
      for (let i = 0; i < n; i++) expectUnavailable(await publish(hl, { fault: name, when: "during", i, padding: "x".repeat(200_000) }), `${name} #${i}`);
      expect((await hl.api("GET", "/api/v1/projects/acme/webhooks")).status, "reads keep working").toBe(200);
    } finally {
      await stop();
    }
    expect(await countEvents(hl), "nothing of the refused publishes was stored").toBe(events);
    const after = await publish(hl, { fault: name, when: "after" });
    expect(after.status).toBe(202);
    const bodies = async () => rx.requests.map((r) => JSON.parse(r.body)).filter((b) => b.subject.fault === name);
    await eventually(async () => (await bodies()).length >= 2, 15_000, `${name}: the events accepted before and after to be delivered`);
    expect((await bodies()).map((b) => b.id).sort()).toEqual([before.body.id, after.body.id].sort());
  }

  it("another process holding the write lock past the busy timeout: 503, not a hang or a 500", async () => {
    const other = new SqliteDatabase(hl.db.url);
    try {
      await throughFault(
        "locked",
        () => void other.exec("BEGIN IMMEDIATE"),
        () => void other.exec("ROLLBACK"),
        1, // each refused call waits out the 5 s busy timeout
      );
    } finally {
      other.close();
    }
  }, 60_000);

  it("disk full (SQLITE_FULL): 503, and the write fails whole", async () => {
    const db = hl.runtime.ctx.store.db;
    const { rows } = await sql<{ page_count: number }>`pragma page_count`.execute(db);
    await throughFault(
      "full",
      async () => void (await sql.raw(`pragma max_page_count = ${rows[0].page_count}`).execute(db)),
      async () => void (await sql.raw("pragma max_page_count = 1073741823").execute(db)),
    );
  });

  it("read-only database (SQLITE_READONLY): 503", async () => {
    const db = hl.runtime.ctx.store.db;
    await throughFault(
      "readonly",
      async () => void (await sql`pragma query_only = 1`.execute(db)),
      async () => void (await sql`pragma query_only = 0`.execute(db)),
    );
  });
});

describe.runIf(DIALECTS.includes("postgres"))("PostgreSQL faults at publish time", () => {
  let rx: Receiver;
  let hl: TestHookline;
  let admin: pg.Client;
  let name: string;
  beforeAll(async () => {
    rx = await startReceiver();
    hl = await startHookline({ dialect: "postgres", worker: true, ca: rx.ca });
    name = new URL(hl.db.url).pathname.slice(1);
    admin = new pg.Client({ connectionString: PG_ADMIN_URL });
    await admin.connect();
    await hl.project("acme");
    expect((await hl.api("POST", "/api/v1/projects/acme/webhooks", { name: "h", events: ["issue.created"], url: `${rx.url}/in` })).status).toBe(201);
  });
  afterAll(async () => {
    await admin?.query(`alter database ${name} reset default_transaction_read_only`).catch(() => {});
    await admin?.end();
    await hl?.close();
    await rx?.close();
  });

  /** Sessions of this database start read-only (or not) from now on; open ones are ended. */
  async function setReadOnly(on: boolean): Promise<void> {
    await admin.query(on ? `alter database ${name} set default_transaction_read_only = on` : `alter database ${name} reset default_transaction_read_only`);
    await admin.query("select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()", [name]);
  }

  it("a read-only database (a failed-over old primary): 503 and nothing stored; delivery resumes after", async () => {
    const before = await publish(hl, { fault: "pg-readonly", when: "before" });
    expect(before.status).toBe(202);
    await rx.waitFor(1, 10_000);
    const events = await countEvents(hl);
    await setReadOnly(true);
    try {
      // The first call may meet a connection ended by the switch; every one must be a 503.
      for (let i = 0; i < 4; i++) expectUnavailable(await publish(hl, { fault: "pg-readonly", when: "during", i }), `read-only #${i}`);
      expect((await hl.api("GET", "/api/v1/projects/acme/webhooks")).status, "reads keep working").toBe(200);
    } finally {
      await setReadOnly(false);
    }
    const after = await eventually(
      async () => {
        const res = await publish(hl, { fault: "pg-readonly", when: "after" });
        if (res.status !== 202) expectUnavailable(res, "while reconnecting");
        return res.status === 202 && res;
      },
      10_000,
      "publishing to work again",
    );
    expect(await countEvents(hl), "only the accepted events were stored").toBe(events + 1);
    await eventually(() => rx.requests.some((r) => JSON.parse(r.body).id === after.body.id), 15_000, "the event accepted after the fault to be delivered");
  });
});
