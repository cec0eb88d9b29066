/**
 * The delivery claim (store/queue/claim.ts and each dialect's claim-deliveries.ts): per-webhook
 * limits counted from live leases in the database (any number of claimers), oldest first within a
 * webhook, round-robin across projects and webhooks, the suspect share, and two claimers working at
 * once (two connections, as a `serve` and a `hookline worker` would) never lease one row twice nor
 * exceed a webhook's limit together. On PostgreSQL the worker's claim is claimPostgres
 * (postgres/claim-deliveries.ts): these tests run that statement, and the last one makes another
 * worker lease between its two statements, which only the second statement's recount can see.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { CompiledQuery, sql, type KyselyPlugin } from "kysely";
import { claimPostgres } from "../../src/store/postgres/claim-deliveries.js";
import { candidatesText } from "../../src/store/queue/candidates.js";
import { candidateParams } from "../../src/store/sqlite/claim-deliveries.js";
import { claimDeliveries } from "../../src/store/queue/claim.js";
import type { ClaimRequest } from "../../src/store/queue/types.js";
import { openStore, type Store } from "../../src/store/db.js";
import { workerDoorOf } from "../../src/store/postgres/statements.js";
import { DIALECTS } from "../helpers/databases.js";
import { startHookline, type TestHookline } from "../helpers/hookline.js";
import { queueRows } from "./support/queue-rows.js";

describe.each(DIALECTS)("claiming deliveries (%s)", (dialect) => {
  let hl: TestHookline;
  let other: Store;
  let store: Store;

  beforeAll(async () => {
    hl = await startHookline({ dialect });
    store = hl.runtime.ctx.store;
    other = await openStore({ databaseUrl: hl.db.url, poolSize: 4 });
  });
  // Each test sees only its own rows.
  beforeEach(async () => {
    await store.db.deleteFrom("deliveries").execute();
  });
  afterAll(async () => {
    await other?.close();
    await hl?.close();
  });

  async function webhooks(project: string, n: number): Promise<string[]> {
    await hl.project(project);
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const res = await hl.api("POST", `/api/v1/projects/${project}/webhooks`, {
        name: `h${i}`,
        events: ["test-run.completed"],
        url: "https://127.0.0.1:1/x",
        enabled: false,
      });
      expect(res.status).toBe(201);
      ids.push(res.body.id);
    }
    return ids;
  }

  const request = (now: number, want: number, token: string, cap = 4, suspectWant = want): ClaimRequest => ({
    now,
    leaseUntil: now + 60_000,
    token,
    want,
    suspectWant,
    cap,
  });
  const count = (rows: { webhook_id: string }[], id: string) => rows.filter((r) => r.webhook_id === id).length;

  it("takes each webhook's oldest due rows up to its free slots, counted from every claimer's live leases", async () => {
    const hooks = await webhooks("p1", 3);
    const t0 = 1_000_000;
    await queueRows(store.db, "p1", hooks, "a", 20, t0);
    const first = await claimDeliveries(store, request(t0 + 100, 6, "t1"));
    expect(first.claimed).toHaveLength(6);
    for (const h of hooks) expect(count(first.claimed, h)).toBe(2); // round-robin across the project's webhooks
    // Oldest first within a webhook, and each comes with what its attempt needs.
    for (const h of hooks)
      expect(
        first.claimed
          .filter((d) => d.webhook_id === h)
          .map((d) => d.run_at)
          .sort(),
      ).toEqual([t0, t0 + 1]);
    expect(first.claimed[0].target?.event).toBe("test-run.completed");
    // Another claimer sees those leases: two more per webhook, then none.
    const second = await claimDeliveries(other, request(t0 + 100, 50, "t2"));
    for (const h of hooks) expect(count(second.claimed, h)).toBe(2);
    expect((await claimDeliveries(other, request(t0 + 100, 50, "t3"))).claimed).toEqual([]);
    // Rows not yet due are left alone even with free slots; leases that expired free their slots.
    const later = await claimDeliveries(store, request(t0 + 60_100, 50, "t4"));
    for (const h of hooks) expect(count(later.claimed, h)).toBe(4);
  });

  it("serves a quiet project's new row in the first claim behind another project's backlog", async () => {
    const [busy] = await webhooks("p2", 1);
    const [quiet] = await webhooks("p3", 1);
    const t0 = 5_000_000;
    await queueRows(store.db, "p2", [busy], "b", 2000, t0);
    await queueRows(store.db, "p3", [quiet], "q", 1, t0 + 5_000);
    const res = await claimDeliveries(store, request(t0 + 10_000, 3, "f1", 100));
    expect(count(res.claimed, quiet)).toBe(1);
  });

  it("finds candidate webhooks without reading their backlogs, whatever plan the planner picks", async () => {
    const [busy, other2] = await webhooks("p6", 2);
    const t0 = 7_000_000;
    await queueRows(store.db, "p6", [busy, other2], "plan", 3000, t0);
    // The busy webhook is at its limit: every one of its due rows is behind its own live leases.
    await claimDeliveries(store, request(t0 + 10_000, 4, "held", 4));
    const now = t0 + 10_000;
    if (dialect === "sqlite") {
      const plan = await store.db.connection().execute(async (conn) => {
        const text = `explain query plan ${candidatesText("?", "?")}`;
        const rows = (await conn.executeQuery(CompiledQuery.raw(text, candidateParams({ cap: 4, now })))).rows as { detail: string }[];
        return rows.map((r) => r.detail).join("\n");
      });
      // Each subquery is a seek into its webhook's range of an index, never a scan of deliveries.
      expect(plan).toMatch(/SEARCH d USING INDEX deliveries_webhook_due/);
      expect(plan).toMatch(/SEARCH l USING (COVERING )?INDEX deliveries_leased/);
      expect(plan).not.toMatch(/SCAN [dl]\b/);
      return;
    }
    // PostgreSQL: the statement as the claim runs it (bitmap scans off, a named prepared statement,
    // so a generic plan after five runs), measured by the rows its plan reads from deliveries.
    const read = await store.db.connection().execute(async (conn) => {
      const run = (text: string) => conn.executeQuery(CompiledQuery.raw(text, []));
      await run("begin");
      try {
        await run("set local enable_bitmapscan = off");
        await run("set local plan_cache_mode = force_generic_plan");
        await run(`prepare plan_probe(int, bigint) as ${candidatesText("$1::int", "$2::bigint")} for no key update of w skip locked`);
        const rows = (await run(`explain (analyze, format json) execute plan_probe(4, ${now})`)).rows as { "QUERY PLAN": unknown }[];
        const plan = rows[0]["QUERY PLAN"] as { Plan: PlanNode }[];
        return rowsReadFrom(plan[0].Plan, "deliveries");
      } finally {
        await run("rollback");
        await run("deallocate plan_probe");
      }
    });
    // Two seeks that pass at most the four leased rows each and two counts of four: not 6,000 rows.
    expect(read).toBeLessThan(50);
  });

  it.skipIf(dialect !== "postgres")("lets the worker's statements into the pool ahead of those already waiting (a burst of publishes)", async () => {
    const single = await openStore({ databaseUrl: hl.db.url, poolSize: 1 });
    try {
      const worker = workerDoorOf(single.db);
      expect(worker).not.toBe(single.db);
      const order: string[] = [];
      // Hold the only connection, queue two statements through the API's door, then one through the worker's.
      let release!: () => void;
      let holding!: () => void;
      const held = new Promise<void>((r) => (holding = r));
      const holder = single.db.connection().execute(async () => {
        holding();
        await new Promise<void>((r) => (release = r));
      });
      await held;
      const run = (db: typeof single.db, name: string) => sql`select ${name}::text as name`.execute(db).then(() => void order.push(name));
      const waiting = [run(single.db, "api 1"), run(single.db, "api 2")];
      await new Promise((r) => setImmediate(r));
      waiting.push(run(worker, "worker"));
      await new Promise((r) => setImmediate(r));
      release();
      await Promise.all([holder, ...waiting]);
      expect(order).toEqual(["worker", "api 1", "api 2"]);
    } finally {
      await single.close();
    }
  });

  it("gives webhooks whose attempts time out (a lowered limit) no more than the suspect share", async () => {
    const [slow, ok] = await webhooks("p4", 2);
    const t0 = 7_000_000;
    await queueRows(store.db, "p4", [slow, ok], "s", 10, t0);
    await store.db.updateTable("webhooks").set({ inflight_limit: 3 }).where("id", "=", slow).execute();
    const none = await claimDeliveries(store, request(t0 + 100, 10, "s1", 16, 0));
    expect(count(none.claimed, slow)).toBe(0);
    expect(count(none.claimed, ok)).toBe(10);
    const some = await claimDeliveries(store, request(t0 + 100, 10, "s2", 16, 2));
    expect(count(some.claimed, slow)).toBe(2);
    // Its lowered limit holds too.
    const rest = await claimDeliveries(store, request(t0 + 100, 10, "s3", 16, 10));
    expect(count(rest.claimed, slow)).toBe(1);
  });

  it("never gives one row to two claimers working at once, nor a webhook more than its limit between them", async () => {
    const hooks = await webhooks("p5", 3);
    const t0 = 9_000_000;
    await queueRows(store.db, "p5", hooks, "c", 150, t0);
    const seen = new Map<string, string>();
    const cap = 5;
    const claimer = async (s: Store, token: string) => {
      for (let round = 0; ; round++) {
        const { claimed } = await claimDeliveries(s, request(t0 + 1000, 7, `${token}${round}`, cap));
        const live = await s.db.selectFrom("deliveries").select(["webhook_id"]).where("lease_token", "is not", null).where("project_id", "=", "p5").execute();
        for (const h of hooks) expect(count(live, h)).toBeLessThanOrEqual(cap);
        for (const r of claimed) {
          expect(seen.get(r.id), `${r.id} claimed by ${seen.get(r.id)} and ${token}`).toBeUndefined();
          seen.set(r.id, token);
        }
        if (claimed.length === 0) return;
        // Finish them (as an outcome would), so the next claim has slots again.
        await s.db
          .updateTable("deliveries")
          .set({ status: "succeeded", lease_token: null, lease_until: null })
          .where(
            "id",
            "in",
            claimed.map((r) => r.id),
          )
          .execute();
      }
    };
    await Promise.all([claimer(store, "one"), claimer(other, "two"), claimer(store, "three")]);
    expect([...seen.keys()].filter((id) => id.startsWith("dlv_c_")).length).toBe(150 * 3);
  });

  it.runIf(dialect === "postgres")("recounts live leases after locking: leases another worker commits meanwhile still count against the limit", async () => {
    const [hook] = await webhooks("p6", 1);
    const t0 = 11_000_000;
    const cap = 4;
    await queueRows(store.db, "p6", [hook], "r", 10, t0);
    // Right after the first statement found the webhook with all 4 slots free, another worker leases 3.
    let raced = false;
    const race: KyselyPlugin = {
      transformQuery: (args) => args.node,
      async transformResult(args) {
        if (!raced && args.result.rows.some((r) => typeof r === "object" && r !== null && "busy" in r)) {
          raced = true;
          const three = (await other.db.selectFrom("deliveries").select("id").where("webhook_id", "=", hook).orderBy("run_at", "desc").limit(3).execute()).map(
            (r) => r.id,
          );
          await other.db
            .updateTable("deliveries")
            .set({ lease_token: "elsewhere", lease_until: t0 + 60_000 })
            .where("id", "in", three)
            .execute();
        }
        return args.result;
      },
    };
    const { claimed } = await claimPostgres(store.db.withPlugin(race), request(t0 + 100, 10, "r1", cap));
    expect(raced).toBe(true);
    expect(claimed).toHaveLength(1);
    const live = await store.db.selectFrom("deliveries").select("id").where("webhook_id", "=", hook).where("lease_token", "is not", null).execute();
    expect(live).toHaveLength(cap);
  });
});

interface PlanNode {
  "Relation Name"?: string;
  "Actual Rows"?: number;
  "Actual Loops"?: number;
  "Rows Removed by Filter"?: number;
  Plans?: PlanNode[];
}

/** Rows the scan nodes of a plan (EXPLAIN ANALYZE, JSON) read from `table`, filtered out or not. */
function rowsReadFrom(node: PlanNode, table: string): number {
  const own = node["Relation Name"] === table ? ((node["Actual Rows"] ?? 0) + (node["Rows Removed by Filter"] ?? 0)) * (node["Actual Loops"] ?? 1) : 0;
  return own + (node.Plans ?? []).reduce((sum, child) => sum + rowsReadFrom(child, table), 0);
}
