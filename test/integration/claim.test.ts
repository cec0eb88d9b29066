/**
 * The delivery claim statement (store/sqlite and store/postgres claim-deliveries.ts): it keeps to
 * the per-webhook slots it is given, takes the oldest due rows first, and two claimers working at
 * once (two connections, as a `serve` and a `hookline worker` would) never lease the same row.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { claimDeliveries, type ClaimRequest } from "../../src/store/deliveries.js";
import { openStore, type Store } from "../../src/store/db.js";
import type { DeliveriesTable } from "../../src/store/schema.js";
import { DIALECTS } from "../helpers/databases.js";
import { startHookline, type TestHookline } from "../helpers/hookline.js";

describe.each(DIALECTS)("claiming deliveries (%s)", (dialect) => {
  let hl: TestHookline;
  let other: Store;
  const hooks: string[] = [];

  beforeAll(async () => {
    hl = await startHookline({ dialect });
    other = await openStore({ databaseUrl: hl.db.url, poolSize: 4 });
    await hl.project("p");
    for (const name of ["a", "b", "c"]) {
      const res = await hl.api("POST", "/api/v1/projects/p/webhooks", { name, events: ["test-run.completed"], url: "https://127.0.0.1:1/x", enabled: false });
      expect(res.status).toBe(201);
      hooks.push(res.body.id);
    }
  });
  afterAll(async () => {
    await other?.close();
    await hl?.close();
  });

  /** `perHook` due rows for each webhook, interleaved in time (row i of every webhook at t0 + i). */
  async function queue(tag: string, perHook: number, t0: number): Promise<void> {
    const db = hl.runtime.ctx.store.db;
    const pad = (i: number) => String(i).padStart(5, "0");
    const rows: DeliveriesTable[] = [];
    await db.insertInto("events").values({ id: `evt_${tag}`, project_id: "p", event: "test-run.completed", payload: "{}", created_at: t0 }).execute();
    for (let i = 0; i < perHook; i++) {
      for (const [h, webhookId] of hooks.entries()) {
        rows.push({
          id: `dlv_${tag}_${pad(i)}_${h}`, event_id: `evt_${tag}`, webhook_id: webhookId, project_id: "p", trigger: "event",
          status: "pending", attempts: 0, max_attempts: 4, run_at: t0 + i, lease_token: null, created_at: t0, updated_at: t0,
        });
      }
    }
    for (let i = 0; i < rows.length; i += 300) await db.insertInto("deliveries").values(rows.slice(i, i + 300)).execute();
  }

  const request = (now: number, limit: number, slots: [string, number][] = [], token = "t1"): ClaimRequest => ({
    now, limit, leaseUntil: now + 60_000, token, perWebhookLimit: 4, webhookSlots: new Map(slots),
  });

  it("takes the oldest due rows within each webhook's free slots, and none of a full webhook", async () => {
    const t0 = 1_000_000;
    await queue("s", 20, t0);
    const [a, b, c] = hooks;
    const claimed = await claimDeliveries(hl.runtime.ctx.store.db, dialect, request(t0 + 100, 50, [[a, 0], [b, 1]]));
    const byHook = (id: string) => claimed.filter((d) => d.webhook_id === id).map((d) => d.id).sort();
    expect(byHook(a)).toEqual([]);
    expect(byHook(b)).toEqual(["dlv_s_00000_1"]);
    expect(byHook(c)).toEqual(["dlv_s_00000_2", "dlv_s_00001_2", "dlv_s_00002_2", "dlv_s_00003_2"]);
    // Not yet due rows are left alone, and a leased row is not claimed again.
    const again = await claimDeliveries(hl.runtime.ctx.store.db, dialect, request(t0 + 1, 50, [], "t2"));
    expect(again.map((d) => d.id).sort()).toEqual(["dlv_s_00000_0", "dlv_s_00001_0", "dlv_s_00001_1"]);
  });

  it("leaves out due rows older than `since` (the worker's cursor) and answers each row's due time", async () => {
    const t0 = 3_000_000;
    await queue("k", 10, t0);
    const store = hl.runtime.ctx.store;
    const claimed = await claimDeliveries(store.db, dialect, { ...request(t0 + 100, 50, [], "k1"), since: t0 + 7, perWebhookLimit: 100 });
    expect(claimed.map((d) => d.id).sort()).toEqual(
      [7, 8, 9].flatMap((i) => [0, 1, 2].map((h) => `dlv_k_0000${i}_${h}`)).sort(),
    );
    for (const d of claimed) expect(d.run_at).toBe(t0 + Number(d.id.split("_")[2]));
    // Without it, the walk starts at the oldest row again (in slots: rows of older queues are leased or taken).
    const rest = await claimDeliveries(store.db, dialect, { ...request(t0 + 100, 100, [], "k2"), perWebhookLimit: 100 });
    expect(rest.filter((d) => d.id.startsWith("dlv_k_")).length).toBe(21);
  });

  it("never gives one row to two claimers working at once", async () => {
    const t0 = 2_000_000;
    await queue("c", 150, t0);
    const seen = new Map<string, string>();
    const claimer = async (store: Store, token: string) => {
      for (;;) {
        const rows = await claimDeliveries(store.db, dialect, { ...request(t0 + 1000, 7, [], token), perWebhookLimit: 100 });
        if (rows.length === 0) return;
        for (const r of rows) {
          expect(seen.get(r.id), `${r.id} claimed by ${seen.get(r.id)} and ${token}`).toBeUndefined();
          seen.set(r.id, token);
        }
      }
    };
    await Promise.all([claimer(hl.runtime.ctx.store, "one"), claimer(other, "two"), claimer(hl.runtime.ctx.store, "three")]);
    expect([...seen.keys()].filter((id) => id.startsWith("dlv_c_")).length).toBe(150 * 3);
  });
});
