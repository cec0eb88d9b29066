/**
 * SPEC §3 "Retention", with an injected clock: log entries older than HOOKLINE_LOG_RETENTION_DAYS go,
 * then finished deliveries and events nothing references any more, and idempotency keys past their
 * 24 h window. Pending deliveries (and the events they will send) and recent logs stay.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { purgeOld } from "../../src/store/queue/purge.js";
import { newId } from "../../src/domain/ids.js";
import type { DeliveryStatus } from "../../src/store/schema.js";
import { DIALECTS } from "../helpers/databases.js";
import { startHookline, type TestHookline } from "../helpers/hookline.js";
import { startReceiver, type Receiver } from "../helpers/receiver.js";
import { eventually } from "../helpers/wait.js";

const HOUR = 3600_000;
const DAY = 24 * HOUR;
const T0 = Date.parse("2030-03-01T12:00:00.000Z");

describe.each(DIALECTS)("retention purge (%s)", (dialect) => {
  let hl: TestHookline;
  let rx: Receiver;
  /** The injected clock: only the test moves it. */
  let clock = T0;
  let failStatus = 500;

  beforeAll(async () => {
    rx = await startReceiver({ respond: (req) => ({ status: req.path === "/fail" ? failStatus : 200 }) });
    hl = await startHookline({
      dialect,
      worker: true,
      ca: rx.ca,
      now: () => clock,
      // Keep one day of logs; a failed event attempt is retried once, two days later, so it stays pending.
      env: { HOOKLINE_LOG_RETENTION_DAYS: "1", HOOKLINE_RETRY_DELAYS: "172800" },
    });
  });
  afterAll(async () => {
    await hl?.close();
    await rx?.close();
  });

  const db = () => hl.runtime.ctx.store.db;
  const publish = async (event: string, subject: unknown, key?: string) => {
    const res = await hl.api("POST", "/api/v1/projects/ret/events", { event, subject }, { headers: key ? { "idempotency-key": key } : {} });
    expect(res.status).toBe(202);
    return res.body as { id: string; deliveries: number };
  };
  const logs = async (webhookId: string) => (await hl.api("GET", `/api/v1/projects/ret/webhooks/${webhookId}/logs?limit=100`)).body.data as any[];
  const logsOf = (webhookId: string, n: number) =>
    eventually(
      async () => {
        const l = await logs(webhookId);
        return l.length === n ? l : undefined;
      },
      8000,
      `${n} log entries of ${webhookId}`,
    );

  it("purges old logs, then finished deliveries and unreferenced events, and expired idempotency keys", async () => {
    await hl.project("ret");
    const ok = (await hl.api("POST", "/api/v1/projects/ret/webhooks", { name: "ok", events: ["test-run.completed"], url: `${rx.url}/ok` })).body;
    const failing = (await hl.api("POST", "/api/v1/projects/ret/webhooks", { name: "failing", events: ["test-run.completed"], url: `${rx.url}/fail` })).body;

    // T0: an event nobody subscribes to, an event to both webhooks (one succeeds, one waits for its
    // retry), and a Test of each (one succeeds, one fails for good).
    const unsubscribed = await publish("milestone.created", { id: "M-1" });
    expect(unsubscribed.deliveries).toBe(0);
    const old = await publish("test-run.completed", { id: "TR-old" }, "k-old");
    expect(old.deliveries).toBe(2);
    const testOk = (await hl.api("POST", `/api/v1/projects/ret/webhooks/${ok.id}/test`)).body.delivery_id as string;
    const testFail = (await hl.api("POST", `/api/v1/projects/ret/webhooks/${failing.id}/test`)).body.delivery_id as string;
    await logsOf(ok.id, 2);
    await logsOf(failing.id, 2);
    const oldPending = await db()
      .selectFrom("deliveries")
      .selectAll()
      .where("event_id", "=", old.id)
      .where("webhook_id", "=", failing.id)
      .executeTakeFirstOrThrow();
    expect(oldPending).toMatchObject({ status: "pending", attempts: 1 });
    const testEvents = (await db().selectFrom("deliveries").select("event_id").where("id", "in", [testOk, testFail]).execute()).map((d) => d.event_id);

    // 36 h later (past the 1-day retention, before the 2-day retry): a recent event and key.
    clock = T0 + 36 * HOUR;
    const recent = await publish("test-run.completed", { id: "TR-recent" }, "k-recent");
    const [recentOk] = await logsOf(ok.id, 3);
    const [recentFail] = await logsOf(failing.id, 3);

    const result = await purgeOld(hl.runtime.ctx.store.db, { now: hl.runtime.ctx.now(), logRetentionDays: hl.runtime.config.logRetentionDays });
    expect(result).toEqual({ logEntries: 4, deliveries: 3, events: 3, idempotencyKeys: 1 });

    // Only the recent log entries are left.
    expect((await logs(ok.id)).map((l) => l.id)).toEqual([recentOk.id]);
    expect((await logs(failing.id)).map((l) => l.id)).toEqual([recentFail.id]);
    // Finished deliveries without logs are gone; pending ones stay, however old, with their events.
    const deliveries = await db().selectFrom("deliveries").select(["event_id", "webhook_id", "status"]).execute();
    expect(deliveries.map((d) => `${d.event_id} ${d.webhook_id} ${d.status}`).sort()).toEqual(
      [`${old.id} ${failing.id} pending`, `${recent.id} ${ok.id} succeeded`, `${recent.id} ${failing.id} pending`].sort(),
    );
    const events = (await db().selectFrom("events").select("id").execute()).map((e) => e.id).sort();
    expect(events).toEqual([old.id, recent.id].sort());
    for (const gone of [unsubscribed.id, ...testEvents]) expect(events).not.toContain(gone);
    const keys = (await db().selectFrom("idempotency_keys").select("key").execute()).map((k) => k.key);
    expect(keys).toEqual(["k-recent"]);

    // A purge with nothing old left removes nothing.
    expect(await purgeOld(hl.runtime.ctx.store.db, { now: hl.runtime.ctx.now(), logRetentionDays: hl.runtime.config.logRetentionDays })).toEqual({
      logEntries: 0,
      deliveries: 0,
      events: 0,
      idempotencyKeys: 0,
    });

    // The expired key publishes again; the recent one still answers its first result and sends nothing.
    const again = await publish("test-run.completed", { id: "TR-old" }, "k-old");
    expect(again.id).not.toBe(old.id);
    expect(again.deliveries).toBe(2);
    expect(await publish("test-run.completed", { id: "TR-recent" }, "k-recent")).toEqual(recent);

    // The old pending delivery lost its log but not its body: its retry, once due, sends the same bytes.
    failStatus = 200;
    const sentBefore = rx.requests.filter((r) => r.path === "/fail" && JSON.parse(r.body).id === old.id);
    expect(sentBefore).toHaveLength(1);
    clock = T0 + 48 * HOUR + 1000;
    const retry = await eventually(
      () => rx.requests.find((r) => r.path === "/fail" && JSON.parse(r.body).id === old.id && r.headers["hookline-attempt"] === "2"),
      5000,
      "the retry",
    );
    expect(retry.body).toBe(sentBefore[0].body);
    expect(retry.headers["hookline-delivery"]).toBe(oldPending.id);
    await eventually(
      async () => (await db().selectFrom("deliveries").select("status").where("id", "=", oldPending.id).executeTakeFirstOrThrow()).status === "succeeded",
    );
  });

  it("works through more than one batch, past rows that must stay", async () => {
    // Thousands of old rows through the API would take minutes: write them straight into the tables.
    // Every 101st delivery is still pending (with an old log entry): it and its event stay.
    const hook = (await hl.api("GET", "/api/v1/projects/ret/webhooks")).body.data.find((w: any) => w.name === "ok");
    const at = clock - 10 * DAY;
    const statuses: DeliveryStatus[] = ["succeeded", "failed", "cancelled"];
    const rows = Array.from({ length: 2525 }, (_, i) => {
      const eventId = newId("evt", at + i);
      const deliveryId = newId("dlv", at + i);
      const pending = i % 101 === 0;
      return {
        event: { id: eventId, project_id: "ret", event: "test-run.completed", payload: JSON.stringify({ id: eventId }), created_at: at + i },
        delivery: {
          id: deliveryId,
          event_id: eventId,
          webhook_id: hook.id,
          project_id: "ret",
          trigger: "event" as const,
          status: pending ? ("pending" as const) : statuses[i % 3],
          attempts: 1,
          max_attempts: 2,
          run_at: pending ? clock + 30 * DAY : at + i,
          lease_token: null,
          created_at: at + i,
          updated_at: at + i,
        },
        log: {
          id: newId("log", at + i),
          webhook_id: hook.id,
          delivery_id: deliveryId,
          project_id: "ret",
          event: "test-run.completed",
          attempt: 1,
          trigger: "event" as const,
          success: 0,
          status_code: 500,
          error: null,
          duration_ms: 3,
          created_at: at + i,
          request: "{}",
          response: null,
        },
      };
    });
    for (let i = 0; i < rows.length; i += 200) {
      const chunk = rows.slice(i, i + 200);
      await db()
        .insertInto("events")
        .values(chunk.map((r) => r.event))
        .execute();
      await db()
        .insertInto("deliveries")
        .values(chunk.map((r) => r.delivery))
        .execute();
      await db()
        .insertInto("log_entries")
        .values(chunk.map((r) => r.log))
        .execute();
    }
    const kept = rows.filter((r) => r.delivery.status === "pending");
    expect(kept).toHaveLength(25);

    expect(await purgeOld(hl.runtime.ctx.store.db, { now: hl.runtime.ctx.now(), logRetentionDays: hl.runtime.config.logRetentionDays })).toEqual({
      logEntries: 2525,
      deliveries: 2500,
      events: 2500,
      idempotencyKeys: 0,
    });
    const ids = rows.map((r) => r.delivery.id);
    const left = [];
    for (let i = 0; i < ids.length; i += 500) {
      left.push(
        ...(await db()
          .selectFrom("deliveries")
          .select(["id", "event_id"])
          .where("id", "in", ids.slice(i, i + 500))
          .execute()),
      );
    }
    expect(left.map((d) => d.id).sort()).toEqual(kept.map((r) => r.delivery.id).sort());
    const events = await db()
      .selectFrom("events")
      .select("id")
      .where(
        "id",
        "in",
        kept.map((r) => r.event.id),
      )
      .execute();
    expect(events).toHaveLength(25);
    const logsLeft = await db()
      .selectFrom("log_entries")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("created_at", "<", clock - DAY)
      .executeTakeFirstOrThrow();
    expect(Number(logsLeft.n)).toBe(0);
  });

  it("keeps every event younger than the retention, with or without deliveries, and forgets expired rotated-out secrets", async () => {
    await hl.project("keep");
    clock = T0 + 100 * DAY;
    const pub = (subject: unknown) => hl.api("POST", "/api/v1/projects/keep/events", { event: "risk.created", subject });
    // Nobody subscribes: no delivery, no log entry references these events.
    const aging = (await pub({ id: "R-aging" })).body;
    expect(aging.deliveries).toBe(0);
    clock += DAY - HOUR; // 23 h later: still inside the 1-day retention
    const young = (await pub({ id: "R-young" })).body;
    await purgeOld(hl.runtime.ctx.store.db, { now: hl.runtime.ctx.now(), logRetentionDays: hl.runtime.config.logRetentionDays });
    const kept = async () => (await db().selectFrom("events").select("id").where("project_id", "=", "keep").execute()).map((e) => e.id).sort();
    expect(await kept()).toEqual([aging.id, young.id].sort());
    expect((await hl.api("GET", `/api/v1/projects/keep/events/${aging.id}`)).body).toMatchObject({ id: aging.id, deliveries: [] });
    clock += 2 * HOUR; // the first is now past the retention, the second is not
    await purgeOld(hl.runtime.ctx.store.db, { now: hl.runtime.ctx.now(), logRetentionDays: hl.runtime.config.logRetentionDays });
    expect(await kept()).toEqual([young.id]);
    expect((await hl.api("GET", `/api/v1/projects/keep/events/${aging.id}`)).status).toBe(404);

    // A rotated-out secret: kept (sealed or not) until it expires, then the purge forgets it.
    const hook = (await hl.api("POST", "/api/v1/projects/keep/webhooks", { name: "s", events: ["risk.created"], url: `${rx.url}/ok`, secret: "whsec_one" }))
      .body;
    await hl.api("POST", `/api/v1/projects/keep/webhooks/${hook.id}/secret/rotate`, { previous_valid_seconds: 3600 });
    const previous = () => db().selectFrom("webhooks").select("previous_secret").where("id", "=", hook.id).executeTakeFirstOrThrow();
    await purgeOld(hl.runtime.ctx.store.db, { now: hl.runtime.ctx.now(), logRetentionDays: hl.runtime.config.logRetentionDays });
    expect((await previous()).previous_secret).toBe("whsec_one");
    clock += HOUR;
    await purgeOld(hl.runtime.ctx.store.db, { now: hl.runtime.ctx.now(), logRetentionDays: hl.runtime.config.logRetentionDays });
    expect((await previous()).previous_secret).toBeNull();
  });
});
