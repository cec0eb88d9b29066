/**
 * Transactional publish: `hookline.publish(…, { client })` writes the event and its deliveries in
 * the host's open transaction, so a rolled-back publish sends nothing and a committed one is
 * delivered by a worker in another process (woken by the NOTIFY at commit). Also with a Kysely
 * transaction; on SQLite, passing `client` is a clear error.
 */
import { Kysely, PostgresDialect, sql } from "kysely";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHookline, type Hookline } from "../../src/index.js";
import { DIALECTS, createTestDatabase, type TestDatabase } from "../helpers/databases.js";
import { nodeEnv, startNode, stopNodes, type HooklineNode } from "../helpers/nodes.js";
import { startReceiver, type Receiver } from "../helpers/receiver.js";
import { sleep } from "../helpers/wait.js";

const libraryOptions = (url: string) => ({
  databaseUrl: url,
  adminToken: "test-admin-token-0123456789abcdef",
  secretKey: "test-secret-key-0123456789abcdef0123456789",
  encryptionKey: Buffer.alloc(32, 7).toString("base64"),
  allowPrivateNetworks: ["127.0.0.0/8"],
  logLevel: "silent" as const,
});

describe.skipIf(!DIALECTS.includes("postgres"))("transactional publish (postgres)", () => {
  let db: TestDatabase;
  let rx: Receiver;
  let worker: HooklineNode;
  let hookline: Hookline;
  let pool: pg.Pool;
  const subjects = () => rx.requests.map((r) => JSON.parse(r.body).subject.id as string);
  const eventCount = async () => Number((await pool.query("select count(*) as n from events")).rows[0].n);

  beforeAll(async () => {
    db = await createTestDatabase("postgres");
    rx = await startReceiver();
    hookline = await createHookline(libraryOptions(db.url));
    await hookline.projects.put("acme", { name: "Acme" });
    await hookline.webhooks.create("acme", { name: "h", events: ["issue.created"], url: rx.url });
    // The worker is another process: only the database (and its NOTIFY) connects it to this one.
    worker = await startNode("worker", nodeEnv(db.url, rx.ca));
    pool = new pg.Pool({ connectionString: db.url, max: 3 });
    await pool.query("create table host_issues (id text primary key)");
  });
  afterAll(async () => {
    await stopNodes(worker ? [worker] : []);
    await hookline?.close();
    await pool?.end();
    await rx?.close();
    await db?.drop();
  });

  it("with a pg client: a rolled-back publish sends nothing; a committed one is delivered, woken at commit", async () => {
    const client = await pool.connect();
    try {
      await client.query("begin");
      await client.query("insert into host_issues (id) values ('BUG-1')");
      const res = await hookline.publish("acme", "issue.created", { id: "BUG-1" }, { client });
      expect(res).toMatchObject({ id: expect.stringMatching(/^evt_/), deliveries: 1 });
      await client.query("rollback");

      await client.query("begin");
      await client.query("insert into host_issues (id) values ('BUG-2')");
      await hookline.publish("acme", "issue.created", { id: "BUG-2" }, { client });
      // Not committed yet: invisible to everyone else, so nothing is sent.
      expect(await eventCount()).toBe(0);
      await sleep(700);
      expect(rx.requests).toHaveLength(0);
      await client.query("commit");
    } finally {
      client.release();
    }
    await rx.waitFor(1, 10_000);
    expect(subjects()).toEqual(["BUG-2"]);
    await sleep(700);
    expect(subjects()).toEqual(["BUG-2"]);
    expect(await eventCount()).toBe(1);
    expect((await pool.query("select id from host_issues")).rows).toEqual([{ id: "BUG-2" }]);
  });

  it("with a Kysely transaction: delivered when it commits, nothing when it throws", async () => {
    rx.clear();
    const host = new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: db.url, max: 2 }) }) });
    try {
      await expect(
        host.transaction().execute(async (trx) => {
          await trx.insertInto("host_issues").values({ id: "BUG-3" }).execute();
          await hookline.publish("acme", "issue.created", { id: "BUG-3" }, { client: trx });
          throw new Error("the host's change failed");
        }),
      ).rejects.toThrow("the host's change failed");
      await host.transaction().execute(async (trx) => {
        await trx.insertInto("host_issues").values({ id: "BUG-4" }).execute();
        await hookline.publish("acme", "issue.created", { id: "BUG-4" }, { client: trx, idempotencyKey: "bug-4" });
      });
      await rx.waitFor(1, 10_000);
      await sleep(700);
      expect(subjects()).toEqual(["BUG-4"]);
      // The idempotency key was recorded in the same transaction.
      const again = await host
        .transaction()
        .execute((trx) => hookline.publish("acme", "issue.created", { id: "BUG-4" }, { client: trx, idempotencyKey: "bug-4" }));
      expect(again.deliveries).toBe(1);
      expect(await eventCount()).toBe(2);
      expect(Number((await sql<{ n: string }>`select count(*) as n from host_issues`.execute(host)).rows[0].n)).toBe(2);
    } finally {
      await host.destroy();
    }
  });

  it("validates as any publish, and refuses what is not a client", async () => {
    const client = await pool.connect();
    try {
      await client.query("begin");
      await expect(hookline.publish("acme", "nope.nope" as never, {}, { client })).rejects.toMatchObject({ code: "validation_failed" });
      await client.query("rollback");
    } finally {
      client.release();
    }
    await expect(hookline.publish("acme", "issue.created", { id: "X" }, { client: { not: "a client" } })).rejects.toThrow(
      /node-postgres client|Kysely transaction/,
    );
  });
});

describe.skipIf(!DIALECTS.includes("sqlite"))("transactional publish (sqlite)", () => {
  it("passing a client is a clear error, and nothing is written", async () => {
    const db = await createTestDatabase("sqlite");
    const hookline = await createHookline(libraryOptions(db.url));
    try {
      await hookline.projects.put("acme", { name: "Acme" });
      const fakeClient = { query: async () => ({ rows: [] }) };
      await expect(hookline.publish("acme", "issue.created", { id: "X" }, { client: fakeClient })).rejects.toThrow(/SQLite/);
    } finally {
      await hookline.close();
      await db.drop();
    }
  });
});
