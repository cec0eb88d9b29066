/**
 * The round trips of a delivery on PostgreSQL, pinned (docs/performance.md, "PostgreSQL round trips
 * and tail latency"): every message a pooled connection sends to the server is counted while a real
 * worker delivers, and
 *  - a claim is four: `begin` with its `set local` in one, the candidates, the lease (which also
 *    spends a rate-limited webhook's allowance), the commit;
 *  - a batch of outcomes is one statement, outside any transaction, with no read before it;
 *  - a publish without an idempotency key is one statement: no transaction, no read of its project
 *    first (the statement checks it; an unknown project still answers 404, valid input or not).
 * A change that adds a round trip to any of these fails here.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DIALECTS } from "../helpers/databases.js";
import { startHookline, type TestHookline } from "../helpers/hookline.js";
import { startReceiver, type Receiver } from "../helpers/receiver.js";
import { eventually } from "../helpers/wait.js";
import { expectError } from "./support/api.js";
import { queueRows } from "./support/queue-rows.js";
import { advanceTat } from "../../src/domain/rate-limit.js";
import { claimDeliveries } from "../../src/store/queue/claim.js";

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
