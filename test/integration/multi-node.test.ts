/**
 * The rules that must hold with many nodes on one PostgreSQL database (SPEC §2, §3), hit concurrently
 * through two API processes (`hookline serve --no-worker`) with two `hookline worker` processes:
 * the 5-active-webhooks limit, idempotency keys, and auto-disable (once, with one notification).
 * PostgreSQL only: several processes sharing one SQLite file is not the scale-out setup.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, databaseEnv, DIALECTS, POSTGRES_VARIANTS, postgresAvailable, type TestDatabase } from "../helpers/databases.js";
import { nodeEnv, startNodes, stopNodes, type HooklineNode } from "../helpers/nodes.js";
import { startReceiver, type Receiver } from "../helpers/receiver.js";
import { eventually, sleep } from "../helpers/wait.js";
import { PG_MIGRATIONS } from "./support/migrations.js";

const pgEnabled = postgresAvailable && DIALECTS.includes("postgres");

describe.skipIf(!pgEnabled).each(POSTGRES_VARIANTS)("several nodes on one PostgreSQL database (%s)", (dialect) => {
  let db: TestDatabase;
  let rx: Receiver;
  let sql: pg.Client;
  let apis: HooklineNode[] = [];
  let workers: HooklineNode[] = [];

  beforeAll(async () => {
    rx = await startReceiver({ respond: (req) => ({ status: req.path.startsWith("/fail") ? 500 : 200 }) });
    db = await createTestDatabase(dialect);
    const env = nodeEnv(db.url, rx.ca, { ...databaseEnv(db), HOOKLINE_RETRY_DELAYS: "0.1,0.1" });
    // All four start at once on the fresh database: start-up migrations take the advisory lock.
    ({ apis, workers } = await startNodes(env, { apis: 2, workers: 2 }));
    sql = new pg.Client({ connectionString: db.directUrl });
    await sql.connect();
  });
  afterAll(async () => {
    await sql?.end();
    await stopNodes([...apis, ...workers]);
    await rx?.close();
    await db?.drop();
  });

  /** Alternates between the two API nodes. */
  const node = (i: number) => apis[i % 2];
  const count = async (query: string, params: unknown[] = []) => Number((await sql.query(query, params)).rows[0].n);

  it("every node starts against the same migrated schema", async () => {
    expect((await sql.query("select name from kysely_migration order by name")).rows.map((r) => r.name)).toEqual(PG_MIGRATIONS);
    for (const n of [...apis, ...workers]) expect(n.alive).toBe(true);
  });

  it("creating webhooks concurrently on both API nodes never exceeds 5 active", async () => {
    expect((await node(0).call("PUT", "/api/v1/projects/limit-create", { name: "L" })).status).toBe(201);
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        node(i).call("POST", "/api/v1/projects/limit-create/webhooks", { name: `w${i}`, events: ["issue.created"], url: `${rx.url}/ok` }),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(5);
    expect(statuses.filter((s) => s === 409)).toHaveLength(7);
    for (const r of results.filter((r) => r.status === 409)) expect(r.body.error.code).toBe("active_webhook_limit");
    expect(await count("select count(*) as n from webhooks where project_id = 'limit-create' and enabled = 1")).toBe(5);
  });

  it("enabling webhooks concurrently on both API nodes never exceeds 5 active", async () => {
    expect((await node(1).call("PUT", "/api/v1/projects/limit-enable", { name: "L" })).status).toBe(201);
    const ids: string[] = [];
    for (let i = 0; i < 9; i++) {
      const res = await node(i).call("POST", "/api/v1/projects/limit-enable/webhooks", {
        name: `w${i}`,
        events: ["issue.created"],
        url: `${rx.url}/ok`,
        enabled: false,
      });
      expect(res.status).toBe(201);
      ids.push(res.body.id);
    }
    const results = await Promise.all(ids.map((id, i) => node(i).call("PATCH", `/api/v1/projects/limit-enable/webhooks/${id}`, { enabled: true })));
    expect(results.filter((r) => r.status === 200)).toHaveLength(5);
    expect(results.filter((r) => r.status === 409)).toHaveLength(4);
    const list = await node(0).call("GET", "/api/v1/projects/limit-enable/webhooks");
    expect(list.body.active_count).toBe(5);
  });

  it("one Idempotency-Key sent concurrently to both API nodes makes one event and delivers it once", async () => {
    expect((await node(0).call("PUT", "/api/v1/projects/idem", { name: "I" })).status).toBe(201);
    for (let i = 0; i < 2; i++) {
      const res = await node(i).call("POST", "/api/v1/projects/idem/webhooks", { name: `w${i}`, events: ["issue.created"], url: `${rx.url}/idem/${i}` });
      expect(res.status).toBe(201);
    }
    const results = await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        node(i).call("POST", "/api/v1/projects/idem/events", { event: "issue.created", subject: { n: 1 } }, { "idempotency-key": "same-key" }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(16).fill(202));
    const ids = new Set(results.map((r) => r.body.id));
    expect(ids.size).toBe(1);
    expect(results.every((r) => r.body.deliveries === 2)).toBe(true);
    expect(await count("select count(*) as n from events where project_id = 'idem'")).toBe(1);
    expect(await count("select count(*) as n from idempotency_keys where project_id = 'idem'")).toBe(1);
    await eventually(() => rx.requests.filter((r) => r.path.startsWith("/idem/")).length >= 2, 10_000, "both deliveries");
    await sleep(500);
    expect(rx.requests.filter((r) => r.path.startsWith("/idem/"))).toHaveLength(2);
  });

  it("deliveries failing on both workers at once disable the webhook once, with one notification", async () => {
    expect((await node(1).call("PUT", "/api/v1/projects/dis", { name: "D" })).status).toBe(201);
    const hook = await node(0).call("POST", "/api/v1/projects/dis/webhooks", { name: "failing", events: ["issue.created"], url: `${rx.url}/fail` });
    expect(hook.status).toBe(201);
    // 40 events published at once: both workers make their attempts side by side, so several
    // deliveries run out of retries at about the same moment on different nodes.
    const published = await Promise.all(
      Array.from({ length: 40 }, (_, i) => node(i).call("POST", "/api/v1/projects/dis/events", { event: "issue.created", subject: { n: i } })),
    );
    expect(published.every((r) => r.status === 202 && r.body.deliveries === 1)).toBe(true);
    await eventually(
      async () => (await count("select count(*) as n from deliveries where webhook_id = $1 and status = 'pending'", [hook.body.id])) === 0,
      30_000,
      "no pending deliveries",
    );
    const after = await node(1).call("GET", `/api/v1/projects/dis/webhooks/${hook.body.id}`);
    expect(after.body).toMatchObject({ enabled: false, disabled_reason: "failures" });
    const notifications = await node(0).call("GET", "/api/v1/projects/dis/notifications");
    expect(notifications.body.data).toHaveLength(1);
    expect(notifications.body.data[0]).toMatchObject({ kind: "webhook.disabled", webhook_id: hook.body.id });
    const byStatus = Object.fromEntries(
      (await sql.query("select status, count(*) as n from deliveries where webhook_id = $1 group by status", [hook.body.id])).rows.map((r) => [
        r.status,
        Number(r.n),
      ]),
    );
    expect(byStatus.failed).toBeGreaterThanOrEqual(1);
    expect((byStatus.failed ?? 0) + (byStatus.cancelled ?? 0)).toBe(40);
    expect(Object.keys(byStatus).sort()).toEqual(
      Object.keys(byStatus)
        .filter((s) => s === "failed" || s === "cancelled")
        .sort(),
    );
    // Nothing is sent to a disabled webhook afterwards.
    const sent = rx.requests.filter((r) => r.path === "/fail").length;
    await node(0).call("POST", "/api/v1/projects/dis/events", { event: "issue.created", subject: { n: "late" } });
    await sleep(800);
    expect(rx.requests.filter((r) => r.path === "/fail")).toHaveLength(sent);
  });
});
