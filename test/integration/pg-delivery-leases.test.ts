/**
 * PostgreSQL counts each webhook's live leases from delivery_leases (store/queue/leases.ts,
 * migration 0014), so that a lease is a HOT update of its delivery. Here: the migration on a
 * populated database with leases live (they are copied and keep counting, their holders can still
 * record them), a node of the previous version leasing after it (its leases are respected), the
 * lease rows kept in step by the claim, the record, the release and the cancel, and the lease a
 * HOT update.
 */
import { sql, type Kysely } from "kysely";
import { afterEach, describe, expect, it } from "vitest";
import { openStore, type Store } from "../../src/store/db.js";
import { migrate } from "../../src/store/migrations.js";
import { claimDeliveries } from "../../src/store/queue/claim.js";
import { cancelLeased } from "../../src/store/queue/cancel.js";
import { releaseLeases } from "../../src/store/queue/release.js";
import { settleAll } from "../../src/store/queue/settle.js";
import { sweepEndedLeases } from "../../src/store/queue/leases.js";
import type { Database } from "../../src/store/schema.js";
import type { ClaimRequest } from "../../src/store/queue/types.js";
import { createTestDatabase, DIALECTS, postgresAvailable, type TestDatabase } from "../helpers/databases.js";

const pgEnabled = postgresAvailable && DIALECTS.includes("postgres");
const M0013 = "0013_log_entries_fewer_writes";
const T0 = 50_000_000;
const BACKLOG = 20_000;

const request = (now: number, want: number, token: string, cap = 4): ClaimRequest => ({ now, leaseUntil: now + 60_000, token, want, suspectWant: want, cap });

async function leaseRows(db: Kysely<Database>): Promise<Map<string, { token: string; until: number; webhook: string }>> {
  const rows = (await sql<{ delivery_id: string; token: string; lease_until: string; webhook_id: string }>`select * from delivery_leases`.execute(db)).rows;
  return new Map(rows.map((r) => [r.delivery_id, { token: r.token, until: Number(r.lease_until), webhook: r.webhook_id }]));
}

async function seed(db: Kysely<Database>, hooks: string[]): Promise<void> {
  await sql`insert into projects (id, name, created_at, updated_at) values ('p1', 'p1', ${T0}, ${T0})`.execute(db);
  for (const h of hooks)
    await sql`insert into webhooks (id, project_id, name, events, url, enabled, created_at, updated_at)
              values (${h}, 'p1', ${h}, '["a"]', 'https://127.0.0.1:1/x', 1, ${T0}, ${T0})`.execute(db);
  await sql`insert into events (id, project_id, event, payload, created_at) values ('evt_1', 'p1', 'a', '{}', ${T0})`.execute(db);
  // A backlog: every webhook's pending rows (due, in order), and as many finished ones.
  await sql`insert into deliveries (id, event_id, webhook_id, project_id, "trigger", status, attempts, max_attempts, run_at, created_at, updated_at)
            select 'dlv_' || h || '_' || lpad(i::text, 6, '0'), 'evt_1', h, 'p1', 'event', case when i % 2 = 0 then 'pending' else 'succeeded' end,
                   0, 4, ${T0} + i, ${T0}, ${T0}
              from unnest(${hooks}::text[]) h, generate_series(1, ${BACKLOG / hooks.length}) i`.execute(db);
}

describe.skipIf(!pgEnabled)("leases in a table of their own (postgres)", () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c().catch(() => {});
  });
  const open = async (db: TestDatabase): Promise<Store> => {
    const store = await openStore({ databaseUrl: db.url, poolSize: 4 });
    cleanup.push(() => store.close());
    return store;
  };
  const database = async () => {
    const db = await createTestDatabase("postgres", { migrated: false });
    cleanup.push(() => db.drop());
    return db;
  };

  it(`0014 on ${BACKLOG} deliveries with leases live: they are copied, keep counting, and their holders record them`, async () => {
    const store = await open(await database());
    await migrate(store.db, M0013);
    await seed(store.db, ["wh_a", "wh_b"]);
    // Before: wh_a has three live leases of an old worker and one expired; wh_b a FIFO retry waiting (lease_until, no token).
    await sql`update deliveries set lease_token = 'old', lease_until = ${T0 + 60_000} where id in ('dlv_wh_a_000002', 'dlv_wh_a_000004', 'dlv_wh_a_000006')`.execute(
      store.db,
    );
    await sql`update deliveries set lease_token = 'dead', lease_until = ${T0 + 5} where id = 'dlv_wh_a_000008'`.execute(store.db);
    await sql`update deliveries set lease_until = ${T0 + 90_000} where id = 'dlv_wh_b_000002'`.execute(store.db);

    expect(await migrate(store.db)).toEqual(["0014_delivery_leases"]);
    const indexes = (await sql<{ indexname: string }>`select indexname from pg_indexes where tablename = 'deliveries'`.execute(store.db)).rows.map((r) => r.indexname);
    expect(indexes).not.toContain("deliveries_leased");
    const copied = await leaseRows(store.db);
    expect([...copied.keys()].sort()).toEqual(["dlv_wh_a_000002", "dlv_wh_a_000004", "dlv_wh_a_000006", "dlv_wh_a_000008"]);
    expect(copied.get("dlv_wh_a_000002")).toEqual({ token: "old", until: T0 + 60_000, webhook: "wh_a" });
    // Nothing else changed: the deliveries keep their columns, the hold included.
    expect(Number((await sql<{ n: string }>`select count(*) as n from deliveries where lease_token is not null`.execute(store.db)).rows[0].n)).toBe(4);
    expect(Number((await sql<{ n: string }>`select count(*) as n from deliveries`.execute(store.db)).rows[0].n)).toBe(BACKLOG);

    // The copied live leases count: wh_a (limit 4) has one slot, the dead lease's row among the due ones;
    // wh_b's head waits for its retry; so its next rows go (not FIFO here: its hold keeps only that row).
    const now = T0 + 1_000;
    const { claimed } = await claimDeliveries(store, request(now, 20, "new"));
    const byHook = (id: string) => claimed.filter((c) => c.webhook_id === id).map((c) => c.id);
    expect(byHook("wh_a")).toEqual(["dlv_wh_a_000008"]);
    expect(byHook("wh_b")).toEqual(["dlv_wh_b_000004", "dlv_wh_b_000006", "dlv_wh_b_000008", "dlv_wh_b_000010"]);
    const after = await leaseRows(store.db);
    expect(after.get("dlv_wh_a_000008")).toEqual({ token: "new", until: now + 60_000, webhook: "wh_a" });
    expect(after.size).toBe(8);

    // The old worker records its attempts after the upgrade: its settle still holds (the deliveries'
    // token), and takes the lease rows along; the slots are free again.
    expect((await settleAll(store.db, [{ id: "dlv_wh_a_000002", status: "succeeded", runAt: null }], "old", now)).length).toBe(1);
    expect(await releaseLeases(store.db, ["dlv_wh_a_000004"], "old", now)).toBeUndefined();
    expect(await cancelLeased(store.db, "dlv_wh_a_000006", "old", now)).toEqual({ event: 1 });
    expect([...(await leaseRows(store.db)).keys()].filter((id) => id.startsWith("dlv_wh_a")).sort()).toEqual(["dlv_wh_a_000008"]);
    const next = await claimDeliveries(store, request(now, 20, "new2"));
    expect(next.claimed.map((c) => c.id).sort()).toEqual(["dlv_wh_a_000004", "dlv_wh_a_000010", "dlv_wh_a_000012"]);
  }, 120_000);

  it("a node of the previous version leasing after 0014 (the deliveries' columns only): its rows are not claimed again until the lease expires", async () => {
    const store = await open(await database());
    await migrate(store.db, M0013);
    await seed(store.db, ["wh_a"]);
    await migrate(store.db);
    // The previous version's lease: an update of the deliveries' columns, no row in delivery_leases.
    await sql`update deliveries set lease_token = 'old', lease_until = ${T0 + 60_000} where id in ('dlv_wh_a_000002', 'dlv_wh_a_000004')`.execute(store.db);
    const { claimed } = await claimDeliveries(store, request(T0 + 1_000, 2, "new", 16));
    expect(claimed.map((c) => c.id)).toEqual(["dlv_wh_a_000006", "dlv_wh_a_000008"]);
    const later = await claimDeliveries(store, request(T0 + 60_000, 2, "new2", 16));
    expect(later.claimed.map((c) => c.id)).toEqual(["dlv_wh_a_000002", "dlv_wh_a_000004"]);
  }, 120_000);

  it("the claim's lease is a HOT update; the record deletes the lease rows; the purge sweeps expired ones", async () => {
    const store = await open(await database());
    await migrate(store.db);
    await seed(store.db, ["wh_a"]);
    // Room on each page for the new versions, as a table that autovacuum keeps would have.
    await sql`vacuum deliveries`.execute(store.db);
    const stats = async () =>
      (
        await sql<{ upd: string; hot: string }>`select n_tup_upd as upd, n_tup_hot_upd as hot from pg_stat_user_tables where relname = 'deliveries'`.execute(
          store.db,
        )
      ).rows[0];
    const before = await stats();
    const { claimed } = await claimDeliveries(store, request(T0 + 1_000, 4, "t", 4));
    expect(claimed).toHaveLength(4);
    // A backend reports its counts once idle, at most once a second.
    let leased = await stats();
    for (let i = 0; i < 50 && Number(leased.upd) - Number(before.upd) < 4; i++) {
      await new Promise((r) => setTimeout(r, 100));
      leased = await stats();
    }
    expect(Number(leased.upd) - Number(before.upd)).toBe(4);
    expect(Number(leased.hot) - Number(before.hot)).toBe(4);
    expect((await leaseRows(store.db)).size).toBe(4);

    const ids = claimed.map((c) => c.id);
    await settleAll(
      store.db,
      ids.slice(0, 2).map((id) => ({ id, status: "succeeded" as const, runAt: null })),
      "t",
      T0 + 2_000,
    );
    expect([...(await leaseRows(store.db)).keys()].sort()).toEqual(ids.slice(2).sort());
    // A lease expired (its worker gone): counted no more, and the purge's sweep deletes its row.
    expect(await sweepEndedLeases(store.db, T0 + 2_000)).toBe(0);
    expect(await sweepEndedLeases(store.db, T0 + 61_001)).toBe(2);
    expect((await leaseRows(store.db)).size).toBe(0);
  }, 120_000);
});
