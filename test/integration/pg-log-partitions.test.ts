/**
 * PostgreSQL's delivery log partitioned by day (migration 0012, store/postgres/log-partitions.ts):
 *   - a populated log is migrated while another node goes on delivering: nothing is lost, every
 *     delivery published arrives and is logged, the old entries stay readable (detail, redeliver),
 *     and no request waits long (the whole log is read outside the migration's lock);
 *   - two nodes migrating a populated log at once: one applies, the other finds nothing to do;
 *   - retention drops whole expired days with their rollups, deletes the boundary rows in batches,
 *     and leaves the rollups equal to counting the log;
 *   - entries land in their day's partition across midnight, in the default one when no day covers
 *     them (a node clock far ahead, a long stop), and the next days are created ahead.
 * Directly and through PgBouncer in transaction mode (the migration's first step runs there too).
 */
import { sql, type Kysely } from "kysely";
import { ulid } from "ulid";
import { afterEach, describe, expect, it } from "vitest";
import { newId } from "../../src/domain/ids.js";
import { ROLLUPS_FROM_LOG } from "../../src/store/log-rollups.js";
import { insertLogEntries } from "../../src/store/logs.js";
import { migrate, MIGRATION_LOCK_KEY } from "../../src/store/migrations.js";
import { DAY, dayPartitionName, ensureLogPartitions, logPartitions, startOfDay } from "../../src/store/postgres/log-partitions.js";
import { summarizeLogTimeIndexes } from "../../src/store/postgres/log-indexes.js";
import { openStore, type Store } from "../../src/store/db.js";
import { purgeOld } from "../../src/store/queue/purge.js";
import type { LogEntryRow } from "../../src/store/schema.js";
import { createTestDatabase, DIALECTS, POSTGRES_VARIANTS, postgresAvailable, type TestDatabase } from "../helpers/databases.js";
import { startHookline, type TestHookline } from "../helpers/hookline.js";
import { startReceiver, type Receiver } from "../helpers/receiver.js";
import { eventually, sleep } from "../helpers/wait.js";
import { rollupsCountedFromLog, rollupsInTable } from "./support/rollup-rows.js";

const pgEnabled = postgresAvailable && DIALECTS.includes("postgres");
const HOUR = 3600_000;
const BEFORE_0012 = "0011_log_hourly_rollups";
const M0012 = "0012_log_entries_partitioned_by_day";
const M0013 = "0013_log_entries_fewer_writes";
/** Entries in the log before the migration (PG_LOG_SEED=1000000 for the figure in docs/performance.md). */
const SEEDED = Number(process.env.PG_LOG_SEED ?? 100_000);

async function expectRollupsExact(db: Kysely<any>) {
  expect(await rollupsInTable(db)).toEqual(await rollupsCountedFromLog(db));
}

const count = async (db: Kysely<any>, table = "log_entries") =>
  Number((await sql<{ n: string }>`select count(*) as n from ${sql.table(table)}`.execute(db)).rows[0].n);
const relkind = async (db: Kysely<any>) =>
  (await sql<{ k: string }>`select relkind::text as k from pg_class where oid = 'log_entries'::regclass`.execute(db)).rows[0].k;

/**
 * `n` copies of `template` spread over the `days` days before `now`, written straight into the table
 * (ids made from their times), then the rollups counted again.
 */
async function seedLog(db: Kysely<any>, template: LogEntryRow, n: number, days: number, now: number) {
  const CHUNK = 5000;
  for (let done = 0; done < n; done += CHUNK) {
    const ids: string[] = [];
    const at: number[] = [];
    for (let i = done; i < Math.min(n, done + CHUNK); i++) {
      const t = now - Math.floor(((i + 0.5) / n) * days * DAY);
      ids.push(`log_${ulid(t).toLowerCase()}`);
      at.push(t);
    }
    await sql`insert into log_entries (id, webhook_id, delivery_id, project_id, event, attempt, "trigger", success, status_code, error, duration_ms, created_at, request, response)
      select u.id, t.webhook_id, t.delivery_id, t.project_id, t.event, t.attempt, t."trigger", t.success, t.status_code, t.error, t.duration_ms, u.at, t.request, t.response
        from unnest(${ids}::text[], ${at}::bigint[]) as u(id, at), log_entries t where t.id = ${template.id}`.execute(db);
  }
  await sql`delete from log_hourly_rollups`.execute(db);
  await sql`insert into log_hourly_rollups (webhook_id, hour_start, duration_ms, succeeded, failed) ${sql.raw(ROLLUPS_FROM_LOG)}`.execute(db);
}

describe.skipIf(!pgEnabled).each(POSTGRES_VARIANTS)("the log partitioned by day (%s)", (variant) => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c().catch(() => {});
  });
  /** A store reaching the database as Hookline would (through the pooler for "pgbouncer"). */
  const open = async (db: TestDatabase, poolSize = 4): Promise<Store> => {
    const store = await openStore({ databaseUrl: db.url, poolSize, pooler: variant === "pgbouncer" });
    cleanup.push(() => store.close());
    return store;
  };
  const database = async (migrated: boolean) => {
    const db = await createTestDatabase(variant, { migrated });
    cleanup.push(() => db.drop());
    return db;
  };

  it(`migrates a log of ${SEEDED} entries while another node delivers: nothing lost, nothing waits long`, async () => {
    const db = await database(false);
    const store = await open(db);
    await migrate(store.db, BEFORE_0012);
    // The node below runs as a node of the previous version would: 0012 (and 0013) marked applied so that its start leaves the log alone.
    for (const name of [M0012, M0013])
      await sql`insert into kysely_migration (name, timestamp) values (${name}, ${new Date().toISOString()})`.execute(store.db);
    const rx: Receiver = await startReceiver();
    cleanup.push(() => rx.close());
    const hl: TestHookline = await startHookline({ dialect: variant, worker: true, ca: rx.ca, database: db });
    cleanup.push(() => hl.close());
    expect(await relkind(store.db)).toBe("r");

    await hl.project("p");
    const hook = (await hl.api("POST", "/api/v1/projects/p/webhooks", { name: "w", events: ["test-run.completed"], url: `${rx.url}/w` })).body;
    expect(await hl.api("POST", "/api/v1/projects/p/events", { event: "test-run.completed", subject: { id: "TR-0" } })).toMatchObject({ status: 202 });
    const template = await eventually(
      async () => (await store.db.selectFrom("log_entries").selectAll().executeTakeFirst()) as LogEntryRow | undefined,
      8000,
      "the first entry",
    );
    const seedStarted = Date.now();
    await seedLog(store.db, template, SEEDED, 20, Date.now() - 60_000);
    const seedMs = Date.now() - seedStarted;
    await sql`delete from kysely_migration where name in (${M0012}, ${M0013})`.execute(store.db);

    // Deliveries go on during the migration: publishes one after another, and reads of the log.
    let stop = false;
    let published = 0;
    const samples: { start: number; ms: number }[] = [];
    // Four clients, each publishing and reading a page in turn.
    const traffic = Promise.all(
      Array.from({ length: 4 }, async (_, c) => {
        for (let i = 1; !stop; i++) {
          const t0 = Date.now();
          const res = await hl.api("POST", "/api/v1/projects/p/events", { event: "test-run.completed", subject: { id: `TR-${c}-${i}` } });
          expect(res.status).toBe(202);
          published++;
          const page = await hl.api("GET", `/api/v1/projects/p/webhooks/${hook.id}/logs?limit=20`);
          expect(page.status).toBe(200);
          samples.push({ start: t0, ms: Date.now() - t0 });
        }
      }),
    );
    await sleep(1000);
    // A second node starting with this version migrates.
    const migrator = await open(db);
    const t0 = Date.now();
    const applied = await migrate(migrator.db);
    const t1 = Date.now();
    const migrationMs = t1 - t0;
    await sleep(1000);
    stop = true;
    await traffic;

    expect(applied).toEqual([M0012, M0013]);
    expect(await relkind(store.db)).toBe("p");
    await expectIndexes0013(store.db);
    const total = SEEDED + 1 + published;
    // Every delivery published arrived once and was logged once.
    await rx.waitFor(1 + published, 30_000);
    await eventually(async () => (await count(store.db)) === total || undefined, 15_000, `all ${total} entries logged`);
    expect(new Set(rx.requests.map((r) => r.headers["hookline-delivery"])).size).toBe(1 + published);
    expect(await count(store.db, "log_entries_before")).toBeGreaterThanOrEqual(SEEDED + 1);
    await expectRollupsExact(store.db);
    // Entries from before the migration: their detail, their redelivery, a page through them.
    expect((await hl.api("GET", `/api/v1/projects/p/webhooks/${hook.id}/logs/${template.id}`)).body).toMatchObject({ id: template.id });
    expect((await hl.api("POST", `/api/v1/projects/p/webhooks/${hook.id}/logs/${template.id}/redeliver`)).status).toBe(202);
    const oldest = await store.db.selectFrom("log_entries").select("id").orderBy("created_at").limit(2).execute();
    const page = await hl.api("GET", `/api/v1/projects/p/webhooks/${hook.id}/logs?limit=5&cursor=${oldest[1].id}`);
    expect(page.body.data.map((e: { id: string }) => e.id)).toEqual([oldest[0].id]);
    // The requests that overlapped the migration: none waited long (the locks are held for milliseconds).
    const overlapping = samples.filter((x) => x.start < t1 && x.start + x.ms > t0).map((x) => x.ms);
    const before = samples.filter((x) => x.start + x.ms <= t0).map((x) => x.ms);
    const slowest = Math.max(...overlapping);
    console.log(
      `[pg-log-partitions ${variant}] seeded ${SEEDED} in ${seedMs} ms; migrated in ${migrationMs} ms beside ${published} deliveries;` +
        ` slowest publish+page during it ${slowest} ms (${overlapping.length} requests), before it ${Math.max(...before)} ms (${before.length})`,
    );
    expect(slowest).toBeLessThan(1000);
  }, 600_000);

  it("two nodes migrating a populated log at once: one applies 0012, the other finds nothing to do", async () => {
    const db = await database(false);
    const [a, b] = [await open(db), await open(db)];
    await migrate(a.db, BEFORE_0012);
    const rows = await fixtureRows(a.db, 1);
    await insertLogEntries(a.db, rows);
    await seedLog(a.db, rows[0], 20_000, 10, Date.now());
    const results = await Promise.all([migrate(a.db), migrate(b.db)]);
    expect(results.map((r) => r.join())).toEqual(expect.arrayContaining([`${M0012},${M0013}`, ""]));
    await expectIndexes0013(a.db);
    expect(await relkind(a.db)).toBe("p");
    expect(await count(a.db)).toBe(20_001);
    await expectRollupsExact(a.db);
    // Starting again changes nothing and keeps the days ahead.
    expect(await migrate(b.db)).toEqual([]);
    const days = (await logPartitions(a.db)).map((p) => p.name);
    expect(days).toEqual(expect.arrayContaining(["log_entries_before", dayPartitionName(startOfDay(Date.now()) + 3 * DAY)]));
  }, 120_000);

  it("0013 replaces two of the log's indexes: at once on empty partitions, after the migration and concurrently on populated ones", async () => {
    const db = await database(false);
    const store = await open(db);
    await migrate(store.db, M0012);
    const rows = await fixtureRows(store.db, 1);
    await insertLogEntries(store.db, rows);
    // Today's partition and the default (the day before has no partition) hold rows; the days ahead are empty.
    await seedLog(store.db, rows[0], 20_000, 2, Date.now());
    const today = dayPartitionName(startOfDay(Date.now()));

    // The migration's transaction alone (a start interrupted right after it): the empty days have
    // the new indexes, the populated partitions still only the old ones, which stay on the table.
    expect(await migrate(store.db, M0013)).toEqual([M0013]);
    const idx = await partitionIndexes(store.db);
    expect(idx.get(dayPartitionName(startOfDay(Date.now()) + DAY))).toEqual(expect.arrayContaining(["created_brin", "webhook_rare_trigger"]));
    expect(idx.get(dayPartitionName(startOfDay(Date.now()) + DAY))).toEqual(expect.arrayContaining(["created", "webhook_trigger"]));
    expect(idx.get(today)).toEqual(expect.arrayContaining(["created", "webhook_trigger"]));
    expect(idx.get(today)).not.toContain("created_brin");
    // Entries go on being logged meanwhile, and a day made now gets every index of the table.
    await insertLogEntries(store.db, await fixtureRows(store.db, 3));
    expect(await ensureLogPartitions(store.db, Date.now() + 2 * DAY, MIGRATION_LOCK_KEY)).toBe(2);
    expect((await partitionIndexes(store.db)).get(dayPartitionName(startOfDay(Date.now()) + 5 * DAY))).toEqual(
      expect.arrayContaining(["created", "webhook_trigger", "created_brin", "webhook_rare_trigger"]),
    );

    // The next start builds the populated partitions' copies, attaches them, and drops the old indexes.
    expect(await migrate(store.db)).toEqual([]);
    await expectIndexes0013(store.db);
    expect(await count(store.db)).toBe(20_004);
    await expectRollupsExact(store.db);
    // A range of times is found through the BRIN (the default partition holds the day before today).
    await sql`vacuum analyze log_entries`.execute(store.db);
    const from = Date.now() - 30 * HOUR;
    const plan = (await sql`explain select id from log_entries where created_at >= ${from} and created_at < ${from + 60_000}`.execute(store.db)).rows
      .map((r) => String(Object.values(r as object)[0]))
      .join("\n");
    expect(plan, plan).toMatch(/log_entries_default_created_brin/);
    // Entries logged after the BRIN was built are in ranges it has not summarized (autovacuum does,
    // autosummarize); retention summarizes them before its boundary deletes, so those read only their ranges.
    await insertLogEntries(store.db, await fixtureRows(store.db, 2));
    const brin = `${today}_created_brin`;
    const options = await sql<{ o: string[] }>`select reloptions as o from pg_class where oid = to_regclass(${brin})`.execute(store.db);
    expect(options.rows[0].o).toEqual(["autosummarize=on"]);
    await summarizeLogTimeIndexes(store.db, Date.now() + DAY);
    const left = await sql<{ n: number }>`select brin_summarize_new_values(to_regclass(${brin})) as n`.execute(store.db);
    expect(Number(left.rows[0].n)).toBe(0);
    // Without the log's own key to webhooks, a webhook's deletion still takes its entries (through its deliveries).
    await store.db.deleteFrom("webhooks").where("id", "=", rows[0].webhook_id).execute();
    expect(await count(store.db)).toBe(5);
    await expectRollupsExact(store.db);
  }, 120_000);

  it("retention drops whole expired days with their rollups and deletes the boundary rows in batches", async () => {
    const db = await database(true);
    const store = await open(db);
    const now = Date.now();
    const today = startOfDay(now);
    // Days -9 … +3 have partitions (made as the passes of those days would have made them).
    for (const k of [9, 5, 1]) await ensureLogPartitions(store.db, now - k * DAY, MIGRATION_LOCK_KEY);
    const before = await logPartitions(store.db);
    expect(before.map((p) => p.name)).toEqual(Array.from({ length: 13 }, (_, i) => dayPartitionName(today + (i - 9) * DAY)));

    // Entries every 3 h over the last 12 days (days -12 … -10 have no partition: the default takes them), and at each midnight's edges.
    const times: number[] = [];
    for (let t = now - 12 * DAY; t < now; t += 3 * HOUR) times.push(t);
    for (let k = 1; k <= 9; k++) times.push(today - k * DAY - 1, today - k * DAY);
    const rows = await fixtureRows(store.db, times.length, times);
    await store.db.transaction().execute((trx) => insertLogEntries(trx, rows));
    const where = await sql<{ p: string; at: string }>`select tableoid::regclass::text as p, created_at as at from log_entries`.execute(store.db);
    for (const r of where.rows) {
      const at = Number(r.at);
      expect(r.p).toBe(at < today - 9 * DAY ? "log_entries_default" : dayPartitionName(startOfDay(at)));
    }

    // Retention 4 days: days -9 … -5 are wholly expired; day -4 holds the cutoff.
    const cutoff = now - 4 * DAY;
    const purged = await purgeOld(store.db, { now, logRetentionDays: 4, batch: 3, share: 1 });
    const expired = times.filter((t) => t < cutoff).length;
    expect(purged.logEntries).toBe(expired);
    const left = (await store.db.selectFrom("log_entries").select("created_at").execute()).map((r) => Number(r.created_at)).sort((a, b) => a - b);
    expect(left).toEqual(times.filter((t) => t >= cutoff).sort((a, b) => a - b));
    const after = (await logPartitions(store.db)).map((p) => p.name);
    expect(after[0]).toBe(dayPartitionName(today - 4 * DAY));
    expect(after).not.toContain(dayPartitionName(today - 5 * DAY));
    await expectRollupsExact(store.db);
    // The finished deliveries only the purged entries referenced went too; the events (created now) stay their retention.
    expect(await count(store.db, "deliveries")).toBe(left.length);
    expect(await count(store.db, "events")).toBe(times.length);
    // A second pass finds nothing more.
    expect((await purgeOld(store.db, { now, logRetentionDays: 4, share: 1 })).logEntries).toBe(0);
  }, 120_000);

  it("entries land in their day across midnight, in the default when no day covers them; the days ahead are made by each pass", async () => {
    const db = await database(true);
    const store = await open(db);
    const today = startOfDay(Date.now());
    const midnight = today + DAY;
    // A node clock 10 days ahead (or a service stopped that long): no partition yet, the default takes it.
    const far = today + 10 * DAY + 5 * HOUR;
    const rows = await fixtureRows(store.db, 3, [midnight - 1, midnight, far]);
    await store.db.transaction().execute((trx) => insertLogEntries(trx, rows));
    const placed = await sql<{ p: string }>`select tableoid::regclass::text as p from log_entries order by created_at`.execute(store.db);
    expect(placed.rows.map((r) => r.p)).toEqual([dayPartitionName(today), dayPartitionName(midnight), "log_entries_default"]);
    // The pass of 8 days later makes days +8 … +11 but not +10, whose range has a row in the default: it stays there, readable.
    expect(await ensureLogPartitions(store.db, today + 8 * DAY, MIGRATION_LOCK_KEY)).toBe(3);
    const names = (await logPartitions(store.db)).map((p) => p.name);
    expect(names).toEqual(expect.arrayContaining([dayPartitionName(today + 8 * DAY), dayPartitionName(today + 11 * DAY)]));
    expect(names).not.toContain(dayPartitionName(today + 10 * DAY));
    expect(await count(store.db)).toBe(3);
    await expectRollupsExact(store.db);
    // The row in the default goes once expired, in a batch.
    const purged = await purgeOld(store.db, { now: far + 31 * DAY, logRetentionDays: 30, share: 1 });
    expect(purged.logEntries).toBe(3);
    await expectRollupsExact(store.db);
  }, 120_000);
});

/** A project, a webhook, an event and one finished delivery per entry, and the entries (not inserted) at `times` (default now). */
async function fixtureRows(db: Kysely<any>, n: number, times?: number[]): Promise<LogEntryRow[]> {
  const now = Date.now();
  const project = `p${Math.random().toString(36).slice(2, 8)}`;
  const webhook = newId("wh");
  await db.insertInto("projects").values({ id: project, name: project, created_at: now, updated_at: now }).execute();
  await db
    .insertInto("webhooks")
    .values({
      id: webhook,
      project_id: project,
      name: "w",
      events: "[]",
      url: "https://example.test/",
      secret: null,
      enabled: 1,
      created_at: now,
      updated_at: now,
    })
    .execute();
  const rows: LogEntryRow[] = [];
  for (let i = 0; i < n; i++) {
    const at = times?.[i] ?? now;
    const event = newId("evt", at);
    const delivery = newId("dlv", at);
    await db.insertInto("events").values({ id: event, project_id: project, event: "e", payload: "{}", created_at: now }).execute();
    await db
      .insertInto("deliveries")
      .values({
        id: delivery,
        event_id: event,
        webhook_id: webhook,
        project_id: project,
        trigger: "event",
        status: "succeeded",
        attempts: 1,
        max_attempts: 3,
        run_at: at,
        lease_token: null,
        created_at: at,
        updated_at: at,
      })
      .execute();
    rows.push({
      id: newId("log", at),
      webhook_id: webhook,
      delivery_id: delivery,
      project_id: project,
      event: "e",
      attempt: 1,
      trigger: "event",
      success: i % 4 === 0 ? 0 : 1,
      status_code: i % 4 === 0 ? 500 : 200,
      error: null,
      duration_ms: i % 7,
      created_at: at,
      request: "{}",
      response: null,
    });
  }
  return rows;
}

/** Each partition's indexes, named without the partition's prefix ("webhook_failed"), primary keys left out. */
async function partitionIndexes(db: Kysely<any>): Promise<Map<string, string[]>> {
  const res = await sql<{ part: string; idx: string }>`
    select c.relname as part, x.relname as idx
      from pg_inherits t join pg_class c on c.oid = t.inhrelid
      join pg_index i on i.indrelid = c.oid join pg_class x on x.oid = i.indexrelid
     where t.inhparent = 'log_entries'::regclass and not i.indisprimary`.execute(db);
  const out = new Map<string, string[]>();
  for (const r of res.rows) out.set(r.part, [...(out.get(r.part) ?? []), r.idx.slice(r.part.length + 1)].sort());
  return out;
}

/** Migration 0013 complete: the table's indexes valid, every partition's copy attached, the replaced ones gone, one foreign key left. */
async function expectIndexes0013(db: Kysely<any>) {
  const expected = ["created_brin", "delivery", "webhook", "webhook_failed", "webhook_rare_trigger", "webhook_status"];
  const parent = await sql<{ name: string; valid: boolean }>`
    select c.relname as name, i.indisvalid as valid from pg_index i join pg_class c on c.oid = i.indexrelid
     where i.indrelid = 'log_entries'::regclass order by 1`.execute(db);
  expect(parent.rows).toEqual(expected.map((e) => ({ name: `log_entries_${e}`, valid: true })));
  for (const [part, names] of await partitionIndexes(db)) expect([part, names]).toEqual([part, expected]);
  const loose = await sql<{ n: string }>`
    select count(*) as n from pg_inherits t join pg_index i on i.indrelid = t.inhrelid
     where t.inhparent = 'log_entries'::regclass and not i.indisprimary
       and not exists (select 1 from pg_inherits a where a.inhrelid = i.indexrelid)`.execute(db);
  expect(Number(loose.rows[0].n)).toBe(0);
  // The log's foreign key to webhooks is gone; the one to deliveries stays (a webhook's deletion reaches the entries through it).
  const keys = await sql<{ name: string }>`select conname as name from pg_constraint where conrelid = 'log_entries'::regclass and contype = 'f'`.execute(db);
  expect(keys.rows.map((r) => r.name)).toEqual(["log_entries_delivery_id_fkey"]);
}
