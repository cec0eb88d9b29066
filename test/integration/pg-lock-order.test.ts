/**
 * Lock order on PostgreSQL: a project before its webhooks, a webhook before its deliveries, the
 * deliveries before the hourly rollups their log entries add to.
 * A deletion does (its webhook row, then the deliveries by cascade) and so does the claim; the
 * record once locked a delivery (the settle) and then waited for its webhook (the rollups' foreign
 * key, the in-flight limit), and a DELETE of the webhook arriving between the two deadlocked with
 * it: PostgreSQL broke the cycle after deadlock_timeout by failing one side, the API's DELETE as
 * often as the record. Each case holds a webhook the way a deletion's first step does and checks,
 * with NOWAIT, which rows the other side has locked meanwhile.
 */
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DIALECTS } from "../helpers/databases.js";
import { startHookline, type TestHookline } from "../helpers/hookline.js";
import { sleep } from "../helpers/wait.js";
import { queueRows } from "./support/queue-rows.js";
import { claimDeliveries } from "../../src/store/queue/claim.js";
import { recordBatch } from "../../src/store/queue/record-batch.js";
import { attemptedDeliveries } from "../../src/store/queue/attempted.js";
import { deleteProject } from "../../src/store/projects.js";
import { lockProject } from "../../src/store/webhooks.js";
import { enqueue } from "../../src/store/queue/enqueue.js";
import { recordOutcomes } from "../../src/delivery/record-outcomes.js";
import { outcomeOf } from "./support/outcome.js";
import type { LogEntryRow } from "../../src/store/schema.js";

const pgEnabled = DIALECTS.includes("postgres");

/** Whether `text` finds its row unlocked: true, or false when another session holds a conflicting lock (55P03). */
async function lockable(client: pg.Client, text: string, params: unknown[]): Promise<boolean> {
  await client.query("savepoint probe");
  try {
    await client.query(`${text} nowait`, params);
    await client.query("release savepoint probe");
    return true;
  } catch (err) {
    if ((err as { code?: string }).code !== "55P03") throw err;
    await client.query("rollback to savepoint probe");
    return false;
  }
}

/** Settles within `ms`: the outcome, or "blocked". */
async function within<T>(p: Promise<T>, ms: number): Promise<{ value?: T; error?: unknown } | "blocked"> {
  const settled = p.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  return Promise.race([settled, sleep(ms).then(() => "blocked" as const)]);
}

describe.skipIf(!pgEnabled)("lock order: a webhook before its deliveries (postgres)", () => {
  let hl: TestHookline;
  let client: pg.Client;
  const now = Date.now();

  beforeAll(async () => {
    hl = await startHookline({ dialect: "postgres" });
    await hl.project("acme");
    client = new pg.Client({ connectionString: hl.db.directUrl });
    await client.connect();
  });
  afterEach(async () => {
    await client.query("rollback").catch(() => {});
  });
  afterAll(async () => {
    await client?.end();
    await hl?.close();
  });

  async function leasedDelivery(tag: string): Promise<{ webhookId: string; deliveryId: string; token: string }> {
    const res = await hl.api("POST", "/api/v1/projects/acme/webhooks", { name: tag, events: ["test-run.completed"], url: "https://127.0.0.1:1/x" });
    expect(res.status).toBe(201);
    const webhookId = res.body.id as string;
    await queueRows(hl.runtime.ctx.store.db, "acme", [webhookId], tag, 1, now - 1000);
    const token = `tok_${tag}`;
    const { claimed } = await claimDeliveries(hl.runtime.ctx.store, { now, leaseUntil: now + 60_000, token, want: 50, suspectWant: 50, cap: 16 });
    const mine = claimed.filter((d) => d.webhook_id === webhookId);
    expect(mine).toHaveLength(1);
    return { webhookId, deliveryId: mine[0].id, token };
  }

  const logOf = (webhookId: string, deliveryId: string): LogEntryRow => ({
    id: `log_${deliveryId}`,
    webhook_id: webhookId,
    delivery_id: deliveryId,
    project_id: "acme",
    event: "test-run.completed",
    attempt: 1,
    trigger: "event",
    success: 1,
    status_code: 200,
    error: null,
    duration_ms: 5,
    created_at: now,
    request: "{}",
    response: null,
  });

  it("the batch record waits for a webhook being deleted before it locks the delivery; the deletion then goes through", async () => {
    const { webhookId, deliveryId, token } = await leasedDelivery("batch");
    await client.query("begin");
    await client.query("select 1 from webhooks where id = $1 for update", [webhookId]);
    const record = recordBatch(hl.runtime.ctx.store, [{ log: logOf(webhookId, deliveryId), token, next: { status: "succeeded", runAt: null } }], now)!;
    expect(await within(record, 300)).toBe("blocked");
    // The record holds no lock on the delivery while it waits: the deletion's cascade can take it.
    expect(await lockable(client, "select 1 from deliveries where id = $1 for update", [deliveryId])).toBe(true);
    await client.query("delete from webhooks where id = $1", [webhookId]);
    await client.query("commit");
    // The record finds its delivery gone. Its log entry's foreign key refuses it (the recorder then
    // tries again and writes nothing), or it writes nothing: never a deadlock.
    const outcome = await record.then(
      (r) => ({ settled: r.settled, code: null }),
      (err: { code?: string }) => ({ settled: [], code: err.code }),
    );
    expect([null, "23503"]).toContain(outcome.code);
    expect(outcome.settled).toEqual([]);
  });

  it("the reading record's first statement waits for a webhook being deleted, before it writes anything", async () => {
    const { webhookId, deliveryId } = await leasedDelivery("reading");
    await client.query("begin");
    await client.query("select 1 from webhooks where id = $1 for update", [webhookId]);
    const read = hl.runtime.ctx.store.db.transaction().execute((trx) => attemptedDeliveries(trx, [deliveryId]));
    expect(await within(read, 300)).toBe("blocked");
    await client.query("rollback");
    const rows = await read;
    expect(rows.map((r) => r.id)).toEqual([deliveryId]);
  });

  it("a project's deletion locks its webhooks in id order, not in the order its cascade scans them", async () => {
    const db = hl.runtime.ctx.store.db;
    await hl.project("order");
    // Inserted z first: a scan of the project's webhooks meets wh_order_z before wh_order_a.
    for (const id of ["wh_order_z", "wh_order_a"])
      await db
        .insertInto("webhooks")
        .values({
          ...(await db.selectFrom("webhooks").selectAll().where("project_id", "=", "acme").limit(1).executeTakeFirstOrThrow()),
          id,
          project_id: "order",
          name: id,
        })
        .execute();
    await client.query("begin");
    // A record of wh_order_z's deliveries holds its KEY SHARE lock.
    await client.query("select 1 from webhooks where id = 'wh_order_z' for key share");
    const deletion = deleteProject(db, "order");
    expect(await within(deletion, 300)).toBe("blocked");
    // Waiting for wh_order_z, the deletion already holds wh_order_a, the first in id order; a record
    // of both waits at wh_order_a before it holds anything the deletion needs.
    expect(await lockable(client, "select 1 from webhooks where id = 'wh_order_a' for key share", [])).toBe(false);
    await client.query("commit");
    expect(await deletion).toBe(true);
    expect(await db.selectFrom("webhooks").select("id").where("project_id", "=", "order").execute()).toEqual([]);
  });
  it("a project's deletion takes the project before any of its webhooks", async () => {
    const db = hl.runtime.ctx.store.db;
    await hl.project("first");
    const res = await hl.api("POST", "/api/v1/projects/first/webhooks", { name: "w", events: ["test-run.completed"], url: "https://127.0.0.1:1/x" });
    expect(res.status).toBe(201);
    await client.query("begin");
    // A publish or a webhook's PATCH holds the project.
    await client.query("select 1 from projects where id = 'first' for key share");
    const deletion = deleteProject(db, "first");
    expect(await within(deletion, 300)).toBe("blocked");
    // Waiting for the project, the deletion holds none of its webhooks.
    expect(await lockable(client, "select 1 from webhooks where id = $1 for key share", [res.body.id])).toBe(true);
    await client.query("commit");
    expect(await deletion).toBe(true);
  });

  it("a publish takes its project before its webhooks", async () => {
    await hl.project("pub");
    const res = await hl.api("POST", "/api/v1/projects/pub/webhooks", { name: "w", events: ["test-run.completed"], url: "https://127.0.0.1:1/x" });
    expect(res.status).toBe(201);
    await client.query("begin");
    // A project's deletion holds the project.
    await client.query("select 1 from projects where id = 'pub' for update");
    const publish = hl.api("POST", "/api/v1/projects/pub/events", { event: "test-run.completed", subject: { id: 1 } });
    expect(await within(publish, 300)).toBe("blocked");
    // Waiting for the project, the publish holds no lock on the webhook the deletion takes next.
    expect(await lockable(client, "select 1 from webhooks where id = $1 for update", [res.body.id])).toBe(true);
    await client.query("rollback");
    expect((await publish).status).toBe(202);
  });
  it("a record that disables a webhook writes its rollups after the cancel, not while the cancel waits", async () => {
    const { store } = hl.runtime.ctx;
    await hl.project("gone");
    const res = await hl.api("POST", "/api/v1/projects/gone/webhooks", { name: "w", events: ["test-run.completed"], url: "https://127.0.0.1:1/x" });
    const hook = res.body.id as string;
    await enqueue(
      store.db,
      { id: "evt_gone", projectId: "gone", event: "test-run.completed", payload: "{}", now },
      ["a", "b"].map((w) => ({ id: `dlv_gone_${w}`, webhookId: hook, trigger: "event" as const })),
      { maxAttempts: 3, retryDelaysMs: [1000, 2000] },
    );
    for (const token of ["gone_a", "gone_b"]) {
      const { claimed } = await claimDeliveries(store, { now, leaseUntil: now + 60_000, token, want: 1, suspectWant: 1, cap: 16 });
      expect(claimed.filter((d) => d.webhook_id === hook)).toHaveLength(1);
    }
    const leased = await store.db.selectFrom("deliveries").select(["id", "lease_token"]).where("webhook_id", "=", hook).execute();
    const mine = leased.find((r) => r.lease_token === "gone_a")!.id;
    const other = leased.find((r) => r.lease_token === "gone_b")!.id;
    // The rollup row this attempt adds to exists already (an earlier attempt of the same hour and duration).
    const hour = now - (now % 3_600_000);
    await store.db.insertInto("log_hourly_rollups").values({ webhook_id: hook, hour_start: hour, duration_ms: 5, succeeded: 0, failed: 1 }).execute();
    const gone = outcomeOf(mine, "gone_a", { success: false, timedOut: false, statusCode: 410, error: null, durationMs: 5, response: null }, now);
    await client.query("begin");
    // Another record of this webhook has settled its delivery and has yet to add to the same rollup row.
    await client.query("select 1 from deliveries where id = $1 for update", [other]);
    const record = recordOutcomes(hl.runtime.ctx, hl.runtime.metrics, [gone]);
    // The 410 disables the webhook, and its cancel waits for the other delivery.
    expect(await within(record, 300)).toBe("blocked");
    expect(
      await lockable(client, "select 1 from log_hourly_rollups where webhook_id = $1 and hour_start = $2 and duration_ms = 5 for update", [hook, hour]),
    ).toBe(true);
    await client.query("rollback");
    expect(await record).toBe(1);
    const row = await store.db.selectFrom("webhooks").select(["enabled", "disabled_reason"]).where("id", "=", hook).executeTakeFirstOrThrow();
    expect(row).toEqual({ enabled: 0, disabled_reason: "gone" });
  });
  it("a change to a project's webhooks holds the project against other changes, not against publishes and notifications", async () => {
    await hl.project("locked");
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => (locked = r));
    const change = hl.runtime.ctx.store.db.transaction().execute(async (trx) => {
      expect(await lockProject(trx, "locked")).toBe(true);
      locked();
      await held;
    });
    await isLocked;
    await client.query("begin");
    // A publish's check (and a notification's foreign key) takes KEY SHARE: granted.
    expect(await lockable(client, "select 1 from projects where id = 'locked' for key share", [])).toBe(true);
    // Another change, or the project's deletion, waits.
    expect(await lockable(client, "select 1 from projects where id = 'locked' for no key update", [])).toBe(false);
    expect(await lockable(client, "select 1 from projects where id = 'locked' for update", [])).toBe(false);
    await client.query("rollback");
    release();
    await change;
  });
});
