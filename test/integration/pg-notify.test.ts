/**
 * LISTEN/NOTIFY between nodes (PostgreSQL only): a publish on an API node wakes an idle worker on
 * another node within milliseconds, although that worker polls only once a minute here; its LISTEN
 * connection comes back after being killed, and a reconnect makes it fetch what was queued while
 * nobody listened (no notification at all in that case, so only the forced fetch can find it).
 */
import pg from "pg";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Runtime } from "../../src/runtime.js";
import { openStore, type Store } from "../../src/store/db.js";
import { createTestDatabase, databaseEnv, DIALECTS, PG_ADMIN_URL, POSTGRES_VARIANTS, postgresAvailable, type TestDatabase } from "../helpers/databases.js";
import { ADMIN_TOKEN } from "../helpers/hookline.js";
import { startReceiver, type Receiver } from "../helpers/receiver.js";
import { eventually, sleep } from "../helpers/wait.js";

const pgEnabled = postgresAvailable && DIALECTS.includes("postgres");
/** Far longer than any wait below: a delivery that arrives in time was woken, not polled. */
const POLL_MS = 60_000;

describe.skipIf(!pgEnabled).each(POSTGRES_VARIANTS)("LISTEN/NOTIFY wake-up across nodes (%s)", (dialect) => {
  let db: TestDatabase;
  let rx: Receiver;
  let apiNode: Runtime;
  let workerNode: Runtime;
  let base: string;
  let sql: pg.Client;
  /** On the server's admin database: a database cannot close its own doors. */
  let admin: pg.Client;
  let webhookId: string;

  beforeAll(async () => {
    rx = await startReceiver();
    db = await createTestDatabase(dialect);
    const env = {
      ...databaseEnv(db),
      // Through PgBouncer in transaction mode the worker LISTENs on a direct connection.
      ...(dialect === "pgbouncer" ? { HOOKLINE_PG_LISTEN_URL: db.directUrl } : {}),
      HOOKLINE_ADMIN_TOKEN: ADMIN_TOKEN,
      HOOKLINE_SECRET_KEY: "test-secret-key-0123456789abcdef0123456789",
      HOOKLINE_ALLOW_PRIVATE_NETWORKS: "127.0.0.0/8",
      HOOKLINE_TIMEOUT_MS: "2000",
    };
    const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
    [apiNode, workerNode] = await Promise.all([Runtime.start({ env, logger }), Runtime.start({ env, logger, ca: rx.ca, pollIntervalMs: POLL_MS })]);
    base = await apiNode.listen(0, "127.0.0.1");
    workerNode.startWorker();
    await eventually(() => workerNode.listener?.connected, 5000, "the LISTEN connection");
    sql = new pg.Client({ connectionString: db.directUrl });
    await sql.connect();
    admin = new pg.Client({ connectionString: PG_ADMIN_URL });
    await admin.connect();
    await call("PUT", "/api/v1/projects/acme", { name: "Acme" });
    webhookId = (await call("POST", "/api/v1/projects/acme/webhooks", { name: "w", events: ["issue.created"], url: rx.url })).id;
    await sleep(300); // the worker's start-up claim pass is over: from now on only a wake-up makes it look
  });
  afterAll(async () => {
    await admin?.query(`alter database ${new URL(db.url).pathname.slice(1)} allow_connections true`).catch(() => {});
    await admin?.end();
    await sql?.end();
    await apiNode?.close();
    await workerNode?.close();
    await rx?.close();
    await db?.drop();
  });

  async function call(method: string, path: string, body?: unknown) {
    const res = await fetch(base + path, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    expect(res.status).toBeLessThan(300);
    return res.json() as Promise<any>;
  }

  it("a publish on the API node wakes the idle worker on the other node within milliseconds", async () => {
    const latencies: number[] = [];
    for (let i = 0; i < 5; i++) {
      const before = rx.requests.length;
      const started = Date.now();
      await call("POST", "/api/v1/projects/acme/events", { event: "issue.created", subject: { i } });
      const [req] = (await rx.waitFor(before + 1, 3000)).slice(before);
      latencies.push(req.receivedAt.getTime() - started);
      await sleep(100);
    }
    latencies.sort((a, b) => a - b);
    console.log(`[${dialect}] publish → delivered on another node (poll ${POLL_MS} ms): median ${latencies[2]} ms, max ${latencies[4]} ms`);
    expect(latencies[4]).toBeLessThan(2000);
  });

  it("the LISTEN connection comes back after the server kills it", async () => {
    const killed = await sql.query(
      "select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and application_name = 'hookline-listener'",
    );
    expect(killed.rowCount).toBe(1);
    await eventually(() => !workerNode.listener!.connected, 3000, "the listener to notice");
    await eventually(() => workerNode.listener!.connected, 5000, "the listener to reconnect");
    const before = rx.requests.length;
    await call("POST", "/api/v1/projects/acme/events", { event: "issue.created", subject: { after: "reconnect" } });
    await rx.waitFor(before + 1, 2000);
  });

  it("a reconnect forces a fetch: work queued while nobody listened (and never notified) is found", async () => {
    const dbName = new URL(db.url).pathname.slice(1);
    // Keep the listener out: no new connection to this database until we allow it again.
    await admin.query(`alter database ${dbName} allow_connections false`);
    await sql.query("select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and application_name = 'hookline-listener'");
    await eventually(() => !workerNode.listener!.connected, 3000, "the listener to notice");
    await sleep(300); // a reconnect attempt or two fail meanwhile
    // Queue a delivery behind Hookline's back: no NOTIFY is sent, so only a fetch can find it.
    const now = Date.now();
    await sql.query(
      "insert into events (id, project_id, event, payload, created_at) values ('evt_quiet', 'acme', 'issue.created', '{\"id\":\"evt_quiet\"}', $1)",
      [now],
    );
    await sql.query(
      `insert into deliveries (id, event_id, webhook_id, project_id, "trigger", status, attempts, max_attempts, run_at, lease_token, created_at, updated_at)
       values ('dlv_quiet', 'evt_quiet', $1, 'acme', 'event', 'pending', 0, 1, $2, null, $2, $2)`,
      [webhookId, now],
    );
    expect(workerNode.listener!.connected).toBe(false);
    await admin.query(`alter database ${dbName} allow_connections true`);
    await eventually(() => rx.requests.some((r) => r.headers["hookline-delivery"] === "dlv_quiet"), 10_000, "the quiet delivery");
    expect(workerNode.listener!.connected).toBe(true);
  });
});

describe.skipIf(!pgEnabled)("a store's own notifications", () => {
  let db: TestDatabase;
  let one: Store;
  let other: Store;

  beforeAll(async () => {
    db = await createTestDatabase("postgres");
    [one, other] = await Promise.all([openStore({ databaseUrl: db.url, listenUrl: db.directUrl }), openStore({ databaseUrl: db.url })]);
  });
  afterAll(async () => {
    await one?.close();
    await other?.close();
    await db?.drop();
  });

  it("do not wake its own listener (its publish woke its worker in-process); another store's do", async () => {
    const log = pino({ level: "silent" });
    let wakes = 0;
    const listener = one.wakeups!.listener!(() => void wakes++, log);
    listener.start();
    try {
      await eventually(() => listener.connected, 5000, "the LISTEN connection");
      await eventually(() => wakes === 1, 3000, "the wake of the connect");
      wakes = 0;
      const own = one.wakeups!.notifier(log);
      const others = other.wakeups!.notifier(log);
      own.notify();
      await own.close();
      await eventually(() => listener.received.own === 1, 3000, "the own notification");
      expect(wakes).toBe(0);
      others.notify();
      await others.close();
      await eventually(() => wakes === 1, 3000, "the other store's notification to wake");
      expect(listener.received).toEqual({ woke: 1, own: 1 });
    } finally {
      await listener.stop();
    }
  });
});
