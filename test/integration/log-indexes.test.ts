/**
 * The delivery log's reads stay fast as it grows because each has an index made for it
 * (docs/performance.md, log_scale): the 24 h stats read a range of one webhook's hourly rollups
 * by their primary key, the failed-attempts page seeks log_entries_webhook_failed, a rare trigger the
 * trigger index, and on PostgreSQL a range of times each partition's BRIN (migration 0013).
 * Checked on the planners' own plans, over enough rows that a scan would be the wrong choice.
 */
import { CompiledQuery, sql, type Compilable } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../src/domain/ids.js";
import { hourlyRollups } from "../../src/store/log-rollups.js";
import { insertLogEntries, listLogEntries } from "../../src/store/logs.js";
import { DIALECTS } from "../helpers/databases.js";
import { startHookline, type TestHookline } from "../helpers/hookline.js";
import { deliveryRow } from "./support/queue-rows.js";

describe.each(DIALECTS)("delivery log indexes (%s)", (dialect) => {
  let hl: TestHookline;
  beforeAll(async () => {
    hl = await startHookline({ dialect });
  });
  afterAll(async () => {
    await hl?.close();
  });

  /** The plan of the query `run` sends, as one lowercase string. */
  async function planOf(run: (db: any) => Promise<unknown>): Promise<string> {
    const db = hl.runtime.ctx.store.db;
    let compiled: { sql: string; parameters: readonly unknown[] } | undefined;
    const capture = new Proxy(db, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (prop !== "selectFrom") return value;
        return (...args: unknown[]) => {
          const q = (value as (...a: unknown[]) => Compilable).apply(target, args) as any;
          return wrap(q);
        };
      },
    });
    const wrap = (q: any): any =>
      new Proxy(q, {
        get(target, prop) {
          const v = target[prop];
          if (prop === "execute") return async () => ((compiled = target.compile()), []);
          return typeof v === "function" ? (...a: unknown[]) => wrap(v.apply(target, a)) : v;
        },
      });
    await run(capture);
    const { sql: text, parameters } = compiled!;
    const explain = dialect === "sqlite" ? `explain query plan ${text}` : `explain ${text}`;
    return db.connection().execute(async (conn) => {
      // As autovacuum leaves a table that has taken inserts (the visibility map index-only scans need).
      if (dialect === "postgres") await sql`vacuum analyze log_entries, log_hourly_rollups`.execute(conn);
      const rows = (await conn.executeQuery(CompiledQuery.raw(explain, [...parameters]))).rows as any[];
      return rows
        .map((r) => String(r.detail ?? r["QUERY PLAN"]))
        .join("\n")
        .toLowerCase();
    });
  }

  it("answers the 24 h stats from the rollups' key and the failed page from the failures' index", async () => {
    const db = hl.runtime.ctx.store.db;
    await hl.project("p");
    const hooks: string[] = [];
    for (let i = 0; i < 5; i++) {
      const body = { name: `w${i}`, events: ["test-run.completed"], url: "https://127.0.0.1:1/x", enabled: false };
      hooks.push((await hl.api("POST", "/api/v1/projects/p/webhooks", body)).body.id);
    }
    const now = Date.now();
    await db.insertInto("events").values({ id: "evt_0", project_id: "p", event: "test-run.completed", payload: "{}", created_at: now }).execute();
    await db
      .insertInto("deliveries")
      .values(deliveryRow("dlv_0", "evt_0", hooks[0], "p", now, { status: "succeeded" }))
      .execute();
    const rows = Array.from({ length: 20_000 }, (_, i) => {
      const at = now - Math.floor((i / 20_000) * 14 * 24 * 3600_000);
      return {
        id: newId("log", at),
        webhook_id: hooks[i % 5],
        delivery_id: "dlv_0",
        project_id: "p",
        event: "test-run.completed",
        attempt: 1,
        trigger: i % 100 === 1 ? ("redeliver" as const) : ("event" as const),
        success: i % 20 === 0 ? 0 : 1,
        status_code: i % 20 === 0 ? 500 : 200,
        error: null,
        duration_ms: i % 97,
        created_at: at,
        request: "{}",
        response: null,
      };
    });
    for (let i = 0; i < rows.length; i += 500) await db.transaction().execute((trx) => insertLogEntries(trx, rows.slice(i, i + 500)));

    const stats = await planOf((d) => hourlyRollups(d, hooks[0], now - 24 * 3600_000, now + 3600_000));
    // A range of the key: the webhook's rows of those hours only (a few hundred), never the whole table.
    expect(stats).toMatch(
      dialect === "sqlite"
        ? /search log_hourly_rollups using primary key \(webhook_id=\? and hour_start>\? and hour_start<\?\)/
        : /index scan on log_hourly_rollups_pkey|index scan using log_hourly_rollups_pkey/,
    );
    expect(stats).not.toMatch(/seq scan|scan log_hourly_rollups(?! using)/);

    const failed = await planOf((d) => listLogEntries(d, { webhookId: hooks[0], limit: 20, success: false }));
    // PostgreSQL's log is partitioned by day: each partition's copy is named after it (log_entries_p20261207_webhook_failed).
    expect(failed).toMatch(/log_entries_(\w+_)?webhook_failed/);
    expect(failed).not.toMatch(/temp b-tree|sort {2}\(/); // a sort node ("sort key" alone is a merge append of partitions in id order)

    // A rare trigger seeks the trigger index; on PostgreSQL it holds the rare triggers only (0013),
    // and `event`, nearly every entry, walks the webhook's entries by id as the plain page does.
    const redelivered = await planOf((d) => listLogEntries(d, { webhookId: hooks[1], limit: 20, trigger: "redeliver" }));
    expect(redelivered).toMatch(dialect === "sqlite" ? /log_entries_webhook_trigger/ : /log_entries_(\w+_)?webhook_rare_trigger/);
    const events = await planOf((d) => listLogEntries(d, { webhookId: hooks[1], limit: 20, trigger: "event" }));
    expect(events).not.toMatch(/seq scan|temp b-tree|sort {2}\(/);
    if (dialect === "postgres") {
      // The retention's boundary rows and the failure metrics read the log by time through each partition's BRIN.
      const byTime = await planOf((d) =>
        d
          .selectFrom("log_entries")
          .select("id")
          .where("created_at", ">=", now - 3 * 24 * 3600_000)
          .where("created_at", "<", now - 3 * 24 * 3600_000 + 60_000)
          .execute(),
      );
      expect(byTime).toMatch(/log_entries_\w+_created_brin/);
    }
  });
});
