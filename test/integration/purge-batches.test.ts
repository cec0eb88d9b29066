/**
 * The retention purge over several batches (it deletes at most 1000 rows per statement): every old,
 * finished, unreferenced row goes, and rows that must stay (a delivery with a recent log entry, a
 * pending one, their events) neither survive wrongly nor stall the purge of the rows after them.
 */
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROLLUPS_FROM_LOG } from "../../src/store/log-rollups.js";
import { insertLogEntries } from "../../src/store/logs.js";
import { purgeOld } from "../../src/store/queue/purge.js";
import type { DeliveriesTable, EventsTable, IdempotencyKeysTable } from "../../src/store/schema.js";
import { DIALECTS } from "../helpers/databases.js";
import { startHookline, type TestHookline } from "../helpers/hookline.js";
import { rollupsCountedFromLog, rollupsInTable } from "./support/rollup-rows.js";
import { deliveryRow } from "./support/queue-rows.js";

const DAY = 24 * 3600_000;
const N = 2300; // three batches

describe.each(DIALECTS)("retention purge in batches (%s)", (dialect) => {
  let hl: TestHookline;
  beforeAll(async () => {
    hl = await startHookline({ dialect });
  });
  afterAll(async () => {
    await hl?.close();
  });

  async function insertChunked<T>(table: "events" | "deliveries" | "idempotency_keys", rows: T[]) {
    const db = hl.runtime.ctx.store.db;
    for (let i = 0; i < rows.length; i += 500)
      await db
        .insertInto(table)
        .values(rows.slice(i, i + 500) as any)
        .execute();
  }

  it("deletes every old finished row across batches and keeps what is still referenced or pending", async () => {
    const db = hl.runtime.ctx.store.db;
    const now = Date.now();
    const old = now - 30 * DAY;
    await hl.project("p");
    const wh = await hl.api("POST", "/api/v1/projects/p/webhooks", { name: "w", events: ["test-run.completed"], url: "https://127.0.0.1:1/x", enabled: false });
    expect(wh.status).toBe(201);
    const pad = (i: number) => String(i).padStart(6, "0");
    const events: EventsTable[] = [];
    const deliveries: DeliveriesTable[] = [];
    for (let i = 0; i < N; i++) {
      // Several rows share a timestamp, so the keyset pagination has to order by id too.
      const at = old + Math.floor(i / 7);
      events.push({ id: `evt_${pad(i)}`, project_id: "p", event: "test-run.completed", payload: "{}", created_at: at });
      deliveries.push(
        deliveryRow(`dlv_${pad(i)}`, `evt_${pad(i)}`, wh.body.id, "p", at, { status: i === 1 ? "pending" : i % 3 === 0 ? "failed" : "succeeded" }),
      );
    }
    await insertChunked("events", events);
    await insertChunked("deliveries", deliveries);
    // The first candidate in key order still has a log entry inside the retention window.
    await db
      .insertInto("log_entries")
      .values({
        id: "log_keep",
        webhook_id: wh.body.id,
        delivery_id: "dlv_000000",
        project_id: "p",
        event: "test-run.completed",
        attempt: 1,
        trigger: "event",
        success: 0,
        status_code: 500,
        error: null,
        duration_ms: 1,
        created_at: now - 1000,
        request: "{}",
        response: null,
      })
      .execute();
    const keys: IdempotencyKeysTable[] = Array.from({ length: 2100 }, (_, i) => ({
      project_id: "p",
      key: `k${i}`,
      response: "{}",
      created_at: now - 2 * DAY - i,
    }));
    keys.push({ project_id: "p", key: "fresh", response: "{}", created_at: now - 1000 });
    await insertChunked("idempotency_keys", keys);

    const result = await purgeOld(hl.runtime.ctx.store.db, { now: hl.runtime.ctx.now(), logRetentionDays: hl.runtime.config.logRetentionDays });
    expect(result).toEqual({ logEntries: 0, deliveries: N - 2, events: N - 2, idempotencyKeys: 2100 });
    const left = await db.selectFrom("deliveries").select(["id", "status"]).orderBy("id").execute();
    expect(left).toEqual([
      { id: "dlv_000000", status: "failed" },
      { id: "dlv_000001", status: "pending" },
    ]);
    expect((await db.selectFrom("events").select("id").orderBy("id").execute()).map((e) => e.id)).toEqual(["evt_000000", "evt_000001"]);
    expect((await db.selectFrom("log_entries").select("id").execute()).map((l) => l.id)).toEqual(["log_keep"]);
    expect((await db.selectFrom("idempotency_keys").select("key").execute()).map((k) => k.key)).toEqual(["fresh"]);
    expect(await purgeOld(hl.runtime.ctx.store.db, { now: hl.runtime.ctx.now(), logRetentionDays: hl.runtime.config.logRetentionDays })).toEqual({
      logEntries: 0,
      deliveries: 0,
      events: 0,
      idempotencyKeys: 0,
    });
  });

  it("the log's expired rows of an hour: one statement on PostgreSQL, a batch per statement on SQLite; the rollups stay exact", async () => {
    const db = hl.runtime.ctx.store.db;
    const now = Date.now();
    const cutoff = now - hl.runtime.config.logRetentionDays * DAY;
    await hl.project("hour");
    const wh = await hl.api("POST", "/api/v1/projects/hour/webhooks", {
      name: "w",
      events: ["test-run.completed"],
      url: "https://127.0.0.1:1/x",
      enabled: false,
    });
    await db.insertInto("events").values({ id: "evt_hour", project_id: "hour", event: "test-run.completed", payload: "{}", created_at: now }).execute();
    await db
      .insertInto("deliveries")
      .values(deliveryRow("dlv_hour", "evt_hour", wh.body.id, "hour", now))
      .execute();
    // 2,500 entries over the 42 minutes before the cutoff (what an hourly pass finds), 10 recent ones.
    const expired = 2500;
    const times = [...Array.from({ length: expired }, (_, i) => cutoff - 1 - i * 1000), ...Array.from({ length: 10 }, (_, i) => now - 1000 - i * 1000)];
    const rows = times.map((at, i) => ({
      id: `log_hour_${String(i).padStart(5, "0")}`,
      webhook_id: wh.body.id,
      delivery_id: "dlv_hour",
      project_id: "hour",
      event: "test-run.completed",
      attempt: 1,
      trigger: "event" as const,
      success: i % 7 === 0 ? 0 : 1,
      status_code: i % 7 === 0 ? 500 : 200,
      error: null,
      duration_ms: i % 5,
      created_at: at,
      request: "{}",
      response: null,
    }));
    await db.transaction().execute(async (trx) => {
      for (let i = 0; i < rows.length; i += 500) await insertLogEntries(trx, rows.slice(i, i + 500));
      await sql`delete from log_hourly_rollups`.execute(trx);
      await sql`insert into log_hourly_rollups ${sql.raw(ROLLUPS_FROM_LOG)}`.execute(trx);
    });
    let statements = 0;
    const watched = db.withPlugin({
      transformQuery: (args) => {
        if (args.node.kind === "DeleteQueryNode" && JSON.stringify(args.node.from).includes('"log_entries"')) statements++;
        return args.node;
      },
      transformResult: async (args) => args.result,
    });
    const result = await purgeOld(watched, { now, logRetentionDays: hl.runtime.config.logRetentionDays, batch: 1000, share: 1 });
    expect(result.logEntries).toBe(expired);
    expect(statements).toBe(dialect === "postgres" ? 1 : 3);
    expect(await db.selectFrom("log_entries").select("id").where("project_id", "=", "hour").execute()).toHaveLength(10);
    expect(await rollupsInTable(db)).toEqual(await rollupsCountedFromLog(db));
  });

  it("stopped partway through a stage, counts the rows that stage deleted so far", async () => {
    const db = hl.runtime.ctx.store.db;
    const now = Date.now();
    const old = now - 30 * DAY;
    await hl.project("stop");
    const wh = await hl.api("POST", "/api/v1/projects/stop/webhooks", {
      name: "w",
      events: ["test-run.completed"],
      url: "https://127.0.0.1:1/x",
      enabled: false,
    });
    const n = 500;
    await insertChunked(
      "events",
      Array.from({ length: n }, (_, i) => ({ id: `evt_s${i}`, project_id: "stop", event: "test-run.completed", payload: "{}", created_at: old + i })),
    );
    await insertChunked(
      "deliveries",
      Array.from({ length: n }, (_, i) => deliveryRow(`dlv_s${String(i).padStart(4, "0")}`, `evt_s${i}`, wh.body.id, "stop", old + i, { status: "succeeded" })),
    );
    // Node shutdown after the deliveries stage's second delete (of 100 rows each): the real
    // statements run, a plugin only watches their results go by.
    const stop = new AbortController();
    let deletes = 0;
    const watched = db.withPlugin({
      transformQuery: (args) => {
        if (args.node.kind === "DeleteQueryNode" && JSON.stringify(args.node.from).includes('"deliveries"') && ++deletes === 2)
          queueMicrotask(() => stop.abort());
        return args.node;
      },
      transformResult: async (args) => args.result,
    });
    const result = await purgeOld(watched, { now, logRetentionDays: hl.runtime.config.logRetentionDays, batch: 100, share: 1, signal: stop.signal });
    const left = Number(
      (
        await db
          .selectFrom("deliveries")
          .select((eb) => eb.fn.countAll().as("n"))
          .where("project_id", "=", "stop")
          .executeTakeFirstOrThrow()
      ).n,
    );
    expect(left).toBe(n - 200);
    expect(result).toEqual({ logEntries: 0, deliveries: 200, events: 0, idempotencyKeys: 0 });
  });
});
