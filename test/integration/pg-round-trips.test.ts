/**
 * The round trips of a delivery on PostgreSQL, pinned (docs/performance.md, "PostgreSQL round trips
 * and tail latency"): every message a pooled connection sends to the server is counted while a real
 * worker delivers, and
 *  - a claim is four: `begin` with its `set local` in one, the candidates, the lease (which also
 *    spends a rate-limited webhook's allowance), the commit;
 *  - a batch of outcomes is one statement, outside any transaction, with no read before it;
 *  - a publish without an idempotency key is one statement: no transaction, no read of its project
 *    first (the statement checks it; an unknown project still answers 404, valid input or not).
 * A change that adds a round trip to any of these fails here. And the record's settle finds its rows
 * by primary key, never by reading a partial index of the queue whole.
 */
import pg from "pg";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DIALECTS } from "../helpers/databases.js";
import { startHookline, type TestHookline } from "../helpers/hookline.js";
import { startReceiver, type Receiver } from "../helpers/receiver.js";
import { eventually } from "../helpers/wait.js";
import { expectError } from "./support/api.js";
import { queueRows } from "./support/queue-rows.js";
import { advanceTat } from "../../src/domain/rate-limit.js";
import { claimDeliveries } from "../../src/store/queue/claim.js";
import { RECORD } from "../../src/store/postgres/record-batch.js";

const pgEnabled = DIALECTS.includes("postgres");

/** Each message sent, per connection, in order. */
const sent = new Map<object, string[]>();
const textOf = (config: unknown) => (typeof config === "string" ? config : ((config as { text?: string })?.text ?? ""));
const oneLine = (t: string) => t.replace(/\s+/g, " ").trim();

describe.skipIf(!pgEnabled)("round trips per delivery (postgres)", () => {
  const original = pg.Client.prototype.query;
  let hl: TestHookline;
  let rx: Receiver;

  beforeAll(async () => {
    // Before the pool opens: statements.ts binds each connection's query when it connects.
    pg.Client.prototype.query = function (this: object, config: unknown, ...rest: unknown[]) {
      const list = sent.get(this) ?? [];
      list.push(oneLine(textOf(config)));
      sent.set(this, list);
      return (original as (...a: unknown[]) => unknown).call(this, config, ...rest);
    } as typeof original;
    rx = await startReceiver();
    hl = await startHookline({ dialect: "postgres", worker: true, ca: rx.ca });
    await hl.project("acme");
    const hook = (name: string, extra: object = {}) =>
      hl.api("POST", "/api/v1/projects/acme/webhooks", { name, events: ["issue.created"], url: `${rx.url}/${name}`, ...extra });
    expect((await hook("plain")).status).toBe(201);
    expect((await hook("rated", { rate_limit: { per_second: 1000 } })).status).toBe(201);
  });
  afterAll(async () => {
    pg.Client.prototype.query = original;
    await hl?.close();
    await rx?.close();
  });

  it("claims in four round trips, records a batch in one statement, publishes without a transaction", async () => {
    sent.clear();
    const EVENTS = 40;
    for (let i = 0; i < EVENTS; i++)
      expect((await hl.api("POST", "/api/v1/projects/acme/events", { event: "issue.created", subject: { i } })).status).toBe(202);
    await rx.waitFor(EVENTS * 2, 10_000);
    const db = hl.runtime.ctx.store.db;
    await eventually(
      async () =>
        Number(
          (
            await db
              .selectFrom("log_entries")
              .select((eb) => eb.fn.countAll().as("n"))
              .executeTakeFirstOrThrow()
          ).n,
        ) ===
        EVENTS * 2,
    );
    await eventually(async () => (await db.selectFrom("deliveries").select("id").where("status", "=", "pending").execute()).length === 0);

    let claims = 0;
    let records = 0;
    for (const list of sent.values()) {
      let inTransaction = false;
      for (let i = 0; i < list.length; i++) {
        const text = list[i];
        if (text.startsWith("begin; set local enable_bitmapscan = off; set local enable_hashjoin = off; set local enable_mergejoin = off")) {
          claims++;
          // The candidates (FOR NO KEY UPDATE … SKIP LOCKED) and, when one had a free slot, the lease; then the commit.
          const end = list.indexOf("commit", i);
          const inside = list.slice(i + 1, end);
          expect(inside.length, inside.join("\n")).toBeGreaterThanOrEqual(1);
          expect(inside.length, inside.join("\n")).toBeLessThanOrEqual(2);
          expect(inside[0]).toMatch(/for no key update of w skip locked$/);
          if (inside[1]) expect(inside[1]).toMatch(/^with share as/);
          i = end;
          continue;
        }
        if (/^(begin|start transaction)\b/i.test(text)) inTransaction = true;
        if (/^(commit|rollback)$/i.test(text)) inTransaction = false;
        // A record and a publish are single statements, in no transaction of their own.
        if (text.includes("insert into log_entries")) {
          records++;
          expect(inTransaction, "a record inside a transaction").toBe(false);
        }
        if (text.includes("insert into events")) expect(inTransaction, "a publish inside a transaction").toBe(false);
        // The publish statement checks the project itself: it is not read first.
        expect(text).not.toMatch(/from projects where id = \$1$/);
        // The record reads nothing before it writes.
        expect(text).not.toMatch(/from deliveries d join events e on e.id = d.event_id join webhooks w/);
      }
    }
    const all = [...sent.values()].flat();
    const publishes = all.filter((t) => t.includes("insert into events")).length;
    const notifies = all.filter((t) => t.includes("pg_notify")).length;
    const claimMessages = all.filter((t) => /^begin; set local enable_bitmapscan|for no key update of w skip locked$|^with share as/.test(t)).length + claims;
    // What a delivery cost here (one event at a time, so claims and batches are small), for docs/performance.md.
    console.log(
      `round trips for ${EVENTS * 2} deliveries: publishes ${publishes}, NOTIFY ${notifies}, claims ${claims} (${claimMessages} messages), ` +
        `record batches ${records}; ${((publishes + notifies + claimMessages + records) / (EVENTS * 2)).toFixed(2)} per delivery`,
    );
    expect(claims).toBeGreaterThan(0);
    expect(records).toBeGreaterThan(0);
    expect(records).toBeLessThanOrEqual(EVENTS * 2);
    // The rate-limited webhook's allowance was spent by the lease statement.
    const rated = await db.selectFrom("webhooks").select("rate_limit_tat").where("name", "=", "rated").executeTakeFirstOrThrow();
    expect(Number(rated.rate_limit_tat)).toBeGreaterThan(0);
  });
});

describe.skipIf(!pgEnabled)("the rate-limit spend inside the lease statement (postgres)", () => {
  let hl: TestHookline;
  beforeAll(async () => {
    hl = await startHookline({ dialect: "postgres" });
    await hl.project("acme");
  });
  afterAll(async () => {
    await hl?.close();
  });

  it("advances each webhook's tat exactly as advanceTat does (float8: the same doubles)", async () => {
    const db = hl.runtime.ctx.store.db;
    const now = 1_000_000_000_123;
    // Intervals that are not whole milliseconds, a tat behind and one ahead of now, 1 to 4 starts.
    const cases = [
      { rate: 7, tat: null, n: 3 },
      { rate: 3, tat: now - 5_000, n: 2 },
      { rate: 0.3, tat: null, n: 1 },
      { rate: 999.9, tat: now + 2, n: 4 },
    ];
    const ids: string[] = [];
    for (const [i, c] of cases.entries()) {
      const res = await hl.api("POST", "/api/v1/projects/acme/webhooks", {
        name: `r${i}`,
        events: ["issue.created"],
        url: "https://127.0.0.1:1/x",
        enabled: false,
        rate_limit: { per_second: c.rate },
      });
      expect(res.status).toBe(201);
      ids.push(res.body.id);
      await db.updateTable("webhooks").set({ rate_limit_tat: c.tat }).where("id", "=", res.body.id).execute();
      await queueRows(db, "acme", [res.body.id], `rt${i}`, c.n, now - 100);
    }
    const { claimed } = await claimDeliveries(hl.runtime.ctx.store, { now, leaseUntil: now + 60_000, token: "t", want: 50, suspectWant: 50, cap: 16 });
    for (const [i, c] of cases.entries()) {
      const started = claimed.filter((d) => d.webhook_id === ids[i]).length;
      expect(started, `starts of case ${i}`).toBeGreaterThan(0);
      const row = await db.selectFrom("webhooks").select("rate_limit_tat").where("id", "=", ids[i]).executeTakeFirstOrThrow();
      expect(Number(row.rate_limit_tat), `case ${i}: ${JSON.stringify(c)}, ${started} started`).toBe(advanceTat(c.rate, c.tat, now, started));
    }
  });
});

describe.each(DIALECTS)("a publish to an unknown project (%s)", (dialect) => {
  let hl: TestHookline;
  beforeAll(async () => {
    hl = await startHookline({ dialect });
    await hl.project("acme");
  });
  afterAll(async () => {
    await hl?.close();
  });

  it("answers 404 whatever the input, and writes nothing", async () => {
    for (const body of [
      { event: "issue.created", subject: { a: 1 } },
      { event: "not.in.catalog", subject: {} },
      { event: "issue.created", subject: { a: 1 }, source: "import" },
    ]) {
      expectError(await hl.api("POST", "/api/v1/projects/ghost/events", body), 404, "not_found");
    }
    // With a key the publish takes the transaction, which checks the project inside it.
    const keyed = { headers: { "idempotency-key": "ghost-1" } };
    expectError(await hl.api("POST", "/api/v1/projects/ghost/events", { event: "issue.created", subject: { a: 1 } }, keyed), 404, "not_found");
    const events = await hl.runtime.ctx.store.db.selectFrom("events").select("id").where("project_id", "=", "ghost").execute();
    expect(events).toHaveLength(0);
    const keys = await hl.runtime.ctx.store.db.selectFrom("idempotency_keys").select("key").where("project_id", "=", "ghost").execute();
    expect(keys).toHaveLength(0);
  });
});

describe.skipIf(!pgEnabled)("the record's settle (postgres)", () => {
  let hl: TestHookline;
  beforeAll(async () => {
    hl = await startHookline({ dialect: "postgres" });
  });
  afterAll(async () => {
    await hl?.close();
  });

  it("finds its rows by primary key, whatever the backlog of pending and leased rows, in custom and generic plans", async () => {
    const db = hl.runtime.ctx.store.db;
    await hl.project("plan");
    const body = { name: "w", events: ["test-run.completed"], url: "https://127.0.0.1:1/x", enabled: false };
    const hook = (await hl.api("POST", "/api/v1/projects/plan/webhooks", body)).body.id as string;
    const now = Date.now();
    await sql`insert into events (id, project_id, event, payload, created_at) values ('evt_plan', 'plan', 'test-run.completed', '{}', ${now})`.execute(db);
    // A backlog: 8,000 pending deliveries, the first 5 leased (the attempts in flight).
    await sql`insert into deliveries (id, event_id, webhook_id, project_id, "trigger", status, attempts, max_attempts, run_at, lease_token, lease_until, created_at, updated_at)
      select 'dlv_plan_' || lpad(g::text, 5, '0'), 'evt_plan', ${hook}, 'plan', 'event', 'pending', 0, 4, ${now}::bigint + g,
             case when g <= 5 then 'tok' end, case when g <= 5 then ${now}::bigint + 60000 end, ${now}::bigint, ${now}::bigint
        from generate_series(1, 8000) g`.execute(db);
    await sql`analyze deliveries`.execute(db);
    const ids = ["dlv_plan_00001", "dlv_plan_00002", "dlv_plan_00003"];
    const entries = ids.map((id, i) => [`log_plan_${i}`, hook, id, "plan", "test-run.completed", 1, "event", 1, 200, null, 3, now, "{}", null]);
    const columns = entries[0].map((_, c) => entries.map((e) => e[c]));
    const params = [...columns, ids.map(() => "succeeded"), ids.map(() => null), ids.map(() => "tok"), now];
    const element = (x: unknown) => (x === null ? "NULL" : `"${String(x).replace(/["\\]/g, "\\$&")}"`);
    const text = (v: unknown) => (Array.isArray(v) ? `{${v.map(element).join(",")}}` : String(v));
    const literal = (v: unknown) => (v === null ? "null" : pg.Client.prototype.escapeLiteral(text(v)));
    const plans = await db.connection().execute(async (conn) => {
      const out: string[] = [];
      await sql.raw(`prepare record_plan as ${RECORD}`).execute(conn);
      for (const mode of ["force_custom_plan", "force_generic_plan"]) {
        await sql.raw(`set plan_cache_mode = ${mode}`).execute(conn);
        const rows = (await sql.raw(`explain execute record_plan(${params.map(literal).join(", ")})`).execute(conn)).rows as Record<string, string>[];
        out.push(rows.map((r) => Object.values(r)[0]).join("\n"));
      }
      await sql.raw("reset plan_cache_mode").execute(conn);
      await sql.raw("deallocate record_plan").execute(conn);
      return out;
    });
    for (const plan of plans) {
      // The settle's part of the plan: from its CTE to the next one or the statement's own nodes.
      const settle = /CTE settled[\s\S]*?(?=\n {2}(CTE|InitPlan)|$)/.exec(plan)?.[0] ?? "";
      expect(settle, plan).toMatch(/Index Scan using deliveries_pkey/);
      expect(settle, plan).not.toMatch(/deliveries_leased|deliveries_webhook_due|Seq Scan on deliveries/);
    }
  });
});
