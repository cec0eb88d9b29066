/**
 * PostgreSQL connections whose session state does not last (docs/scaling.md, "Behind a connection
 * pooler"):
 * - directly connected, a pool's named prepared statements dropped mid-run (`DISCARD ALL`,
 *   `DEALLOCATE ALL`) are prepared again: requests and deliveries keep succeeding;
 * - with HOOKLINE_PG_POOLER=transaction nothing outlives a transaction: no named statements, the
 *   timeouts only per transaction, no advisory lock held after migrating through PgBouncer, and
 *   without HOOKLINE_PG_LISTEN_URL no LISTEN connection (the worker polls).
 */
import { sql, type Kysely } from "kysely";
import pg from "pg";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Runtime } from "../../src/runtime.js";
import { createTestDatabase, databaseEnv, DIALECTS, pgBouncerAvailable } from "../helpers/databases.js";
import { ADMIN_TOKEN, startHookline, type TestHookline } from "../helpers/hookline.js";
import { startReceiver, type Receiver } from "../helpers/receiver.js";
import { PG_MIGRATIONS } from "./support/migrations.js";

const pgEnabled = DIALECTS.includes("postgres");

/**
 * Runs `statement` on each of the pool's `size` connections: all are held at once, so each is a
 * different one. Answers how many prepared statements each held before.
 */
async function onEveryConnection(db: Kysely<any>, size: number, statement: string): Promise<number[]> {
  let arrived = 0;
  let release!: () => void;
  const all = new Promise<void>((r) => (release = r));
  return Promise.all(
    Array.from({ length: size }, () =>
      db.connection().execute(async (conn) => {
        const held = Number((await sql<{ n: string }>`select count(*) as n from pg_prepared_statements`.execute(conn)).rows[0].n);
        if (statement) await sql.raw(statement).execute(conn);
        if (++arrived === size) release();
        await all;
        return held;
      }),
    ),
  );
}

/** With an Idempotency-Key a publish is a transaction of named statements; without one a single named statement. */
const publish = (hl: TestHookline, i: number, key?: string) =>
  hl.api("POST", "/api/v1/projects/acme/events", { event: "issue.created", subject: { i } }, key ? { headers: { "idempotency-key": key } } : {});

describe.skipIf(!pgEnabled)("named statements the server lost are prepared again (postgres, direct)", () => {
  const POOL = 3;
  let hl: TestHookline;
  let rx: Receiver;
  beforeAll(async () => {
    rx = await startReceiver();
    hl = await startHookline({ dialect: "postgres", worker: true, ca: rx.ca, env: { HOOKLINE_DB_POOL_SIZE: String(POOL) } });
    await hl.project("acme");
    expect((await hl.api("POST", "/api/v1/projects/acme/webhooks", { name: "w", events: ["issue.created"], url: rx.url })).status).toBe(201);
  });
  afterAll(async () => {
    await hl?.close();
    await rx?.close();
  });

  it("DISCARD ALL and DEALLOCATE ALL on every pooled connection mid-run: every request succeeds, every delivery arrives", async () => {
    const ROUNDS = 6;
    const PER_ROUND = 6;
    const heldBefore: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      heldBefore.push(...(await onEveryConnection(hl.runtime.ctx.store.db, POOL, round % 2 === 0 ? "discard all" : "deallocate all")));
      const answers = await Promise.all([
        ...Array.from({ length: PER_ROUND }, (_, i) => publish(hl, round * PER_ROUND + i, i % 2 === 0 ? `key-${round}-${i}` : undefined)),
        hl.api("GET", "/api/v1/projects/acme"),
        hl.api("GET", "/api/v1/projects/acme/webhooks"),
      ]);
      expect(answers.map((a) => a.status)).toEqual([...Array(PER_ROUND).fill(202), 200, 200]);
    }
    // The hot statements were named (there was something to lose), and are again afterwards.
    expect(heldBefore.reduce((a, b) => a + b)).toBeGreaterThan(0);
    await rx.waitFor(ROUNDS * PER_ROUND, 15_000);
    expect((await onEveryConnection(hl.runtime.ctx.store.db, POOL, "")).reduce((a, b) => a + b)).toBeGreaterThan(0);
  });
});

describe.skipIf(!pgEnabled)("HOOKLINE_PG_POOLER=transaction keeps no session state (postgres, direct)", () => {
  let hl: TestHookline;
  let rx: Receiver;
  beforeAll(async () => {
    rx = await startReceiver();
    // One connection, so what the checks see is the connection every statement ran on.
    const env = { HOOKLINE_PG_POOLER: "transaction", HOOKLINE_DB_POOL_SIZE: "1", HOOKLINE_DB_LOCK_TIMEOUT_MS: "700", HOOKLINE_DB_STATEMENT_TIMEOUT_MS: "1500" };
    hl = await startHookline({ dialect: "postgres", worker: true, ca: rx.ca, env });
    await hl.project("acme");
    await hl.api("POST", "/api/v1/projects/acme/webhooks", { name: "w", events: ["issue.created"], url: rx.url });
  });
  afterAll(async () => {
    await hl?.close();
    await rx?.close();
  });

  it("prepares no named statement, and sets the timeouts in each transaction only", async () => {
    for (let i = 0; i < 5; i++) expect((await publish(hl, i)).status).toBe(202);
    await rx.waitFor(5, 10_000);
    const db = hl.runtime.ctx.store.db;
    expect(Number((await sql<{ n: string }>`select count(*) as n from pg_prepared_statements`.execute(db)).rows[0].n)).toBe(0);
    // reset_val is the session's own value (startup parameters and session SETs); setting is this transaction's.
    const rows = (
      await sql<{ name: string; setting: string; reset_val: string }>`
      select name, setting, reset_val from pg_settings where name in ('lock_timeout', 'statement_timeout') order by name`.execute(db)
    ).rows;
    expect(rows).toEqual([
      { name: "lock_timeout", setting: "700", reset_val: "0" },
      { name: "statement_timeout", setting: "1500", reset_val: "0" },
    ]);
  });
});

describe.skipIf(!pgBouncerAvailable)("through PgBouncer in transaction mode (pgbouncer)", () => {
  it("migrates a fresh database through the pooler and leaves no advisory lock, no named statement and no setting on the server's sessions", async () => {
    const db = await createTestDatabase("pgbouncer");
    const env = { ...databaseEnv(db), HOOKLINE_ADMIN_TOKEN: ADMIN_TOKEN, HOOKLINE_SECRET_KEY: "test-secret-key-0123456789abcdef0123456789" };
    const logger = pino({ level: "silent" });
    const direct = new pg.Client({ connectionString: db.directUrl });
    await direct.connect();
    // Two nodes start at once on the empty database: one migrates, the other waits for its lock.
    const nodes = await Promise.all([Runtime.start({ env, logger }), Runtime.start({ env, logger })]);
    try {
      expect((await direct.query("select name from kysely_migration order by name")).rows.map((r) => r.name)).toEqual(PG_MIGRATIONS);
      const base = await nodes[0].listen(0, "127.0.0.1");
      const put = await fetch(`${base}/api/v1/projects/acme`, {
        method: "PUT",
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify({ name: "Acme" }),
      });
      expect(put.status).toBe(201);
      // Scoped to this test's database: other tests' databases on the same server may hold their own.
      const advisory = await direct.query(
        "select count(*)::int as n from pg_locks where locktype = 'advisory' and database = (select oid from pg_database where datname = current_database())",
      );
      expect(advisory.rows[0].n).toBe(0);
      // Whichever of the pooler's server connections a client gets, it finds nothing of Hookline's:
      // hold several at once (transactions through the pooler) and look at each.
      const clients = Array.from({ length: 4 }, () => new pg.Client({ connectionString: db.url }));
      try {
        await Promise.all(clients.map((c) => c.connect()));
        const seen = await Promise.all(
          clients.map(async (c) => {
            await c.query("begin");
            const r = await c.query(
              "select current_setting('lock_timeout') as lock, current_setting('statement_timeout') as statement, (select count(*)::int from pg_prepared_statements) as prepared",
            );
            return r.rows[0];
          }),
        );
        for (const s of seen) expect(s).toEqual({ lock: "0", statement: "0", prepared: 0 });
        await Promise.all(clients.map((c) => c.query("commit")));
      } finally {
        await Promise.all(clients.map((c) => c.end().catch(() => {})));
      }
    } finally {
      await direct.end();
      await Promise.all(nodes.map((n) => n.close()));
      await db.drop();
    }
  });

  it("without HOOKLINE_PG_LISTEN_URL the worker opens no LISTEN connection and a publish on another node arrives by polling", async () => {
    const rx = await startReceiver();
    const db = await createTestDatabase("pgbouncer", { migrated: true });
    const env = {
      ...databaseEnv(db),
      HOOKLINE_ADMIN_TOKEN: ADMIN_TOKEN,
      HOOKLINE_SECRET_KEY: "test-secret-key-0123456789abcdef0123456789",
      HOOKLINE_ALLOW_PRIVATE_NETWORKS: "127.0.0.0/8",
    };
    const logger = pino({ level: "silent" });
    const [apiNode, workerNode] = await Promise.all([Runtime.start({ env, logger }), Runtime.start({ env, logger, ca: rx.ca, pollIntervalMs: 300 })]);
    try {
      workerNode.startWorker();
      expect(workerNode.listener).toBeNull();
      const direct = new pg.Client({ connectionString: db.directUrl });
      await direct.connect();
      const listeners = await direct.query(
        "select count(*)::int as n from pg_stat_activity where datname = current_database() and application_name = 'hookline-listener'",
      );
      await direct.end();
      expect(listeners.rows[0].n).toBe(0);
      const base = await apiNode.listen(0, "127.0.0.1");
      const call = (method: string, path: string, body: unknown) =>
        fetch(base + path, { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" }, body: JSON.stringify(body) });
      await call("PUT", "/api/v1/projects/acme", { name: "Acme" });
      await call("POST", "/api/v1/projects/acme/webhooks", { name: "w", events: ["issue.created"], url: rx.url });
      expect((await call("POST", "/api/v1/projects/acme/events", { event: "issue.created", subject: { id: 1 } })).status).toBe(202);
      await rx.waitFor(1, 5000);
    } finally {
      await apiNode.close();
      await workerNode.close();
      await rx.close();
      await db.drop();
    }
  });
});
