/**
 * The delivery queue's state changes (store/queue/*.ts), each on its own: enqueue keeps the retry
 * schedule on the delivery; succeed, schedule retry and fail count the attempt and drop the lease
 * only for the lease holder of a pending row; cancel and release; purge is tested in purge*.test.ts.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { cancelLeased, cancelPendingOfWebhook } from "../../src/store/queue/cancel.js";
import { claimDeliveries } from "../../src/store/queue/claim.js";
import { enqueue } from "../../src/store/queue/enqueue.js";
import { failDeliveries } from "../../src/store/queue/fail.js";
import { releaseLeases } from "../../src/store/queue/release.js";
import { scheduleRetries } from "../../src/store/queue/schedule-retry.js";
import { succeedDeliveries } from "../../src/store/queue/succeed.js";
import type { Store } from "../../src/store/db.js";
import { DIALECTS } from "../helpers/databases.js";
import { startHookline, type TestHookline } from "../helpers/hookline.js";

describe.each(DIALECTS)("delivery queue operations (%s)", (dialect) => {
  let hl: TestHookline;
  let store: Store;
  let hook: string;
  let seq = 0;
  const T = 2_000_000;

  beforeAll(async () => {
    hl = await startHookline({ dialect });
    store = hl.runtime.ctx.store;
    await hl.project("q");
    const res = await hl.api("POST", "/api/v1/projects/q/webhooks", { name: "h", events: ["test-run.completed"], url: "https://127.0.0.1:1/x" });
    hook = res.body.id;
  });
  beforeEach(async () => {
    await store.db.deleteFrom("deliveries").execute();
  });
  afterAll(async () => {
    await hl?.close();
  });

  /** Enqueues `n` deliveries and claims them under `token`; answers their ids. */
  async function leased(n: number, token: string, trigger: "event" | "test" | "recover" = "event"): Promise<string[]> {
    const evt = `evt_q${++seq}`;
    const ids = Array.from({ length: n }, (_, i) => `dlv_q${seq}_${i}`);
    await enqueue(
      store.db,
      { id: evt, projectId: "q", event: "test-run.completed", payload: "{}", now: T },
      ids.map((id) => ({ id, webhookId: hook, trigger })),
      { maxAttempts: 3, retryDelaysMs: [1500, 2500] },
    );
    const { claimed } = await claimDeliveries(store, { now: T, leaseUntil: T + 10_000, token, want: n, suspectWant: n, cap: 100 });
    expect(claimed.map((d) => d.id).sort()).toEqual([...ids].sort());
    return ids;
  }
  const row = (id: string) => store.db.selectFrom("deliveries").selectAll().where("id", "=", id).executeTakeFirstOrThrow();

  it("enqueue: pending, due now, with the retry schedule fixed on the delivery", async () => {
    const [id] = await leased(1, "e");
    const d = await row(id);
    expect(d).toMatchObject({ status: "pending", attempts: 0, max_attempts: 3, run_at: T, retry_delays: "[1500,2500]", lease_token: "e" });
  });

  it("succeed and fail: count the attempt, finish the row and drop the lease, only for the lease holder", async () => {
    const [a, b] = await leased(2, "s");
    expect(await succeedDeliveries(store.db, [a], "other", T + 1)).toEqual([]);
    expect(await succeedDeliveries(store.db, [a], "s", T + 1)).toEqual([a]);
    expect(await failDeliveries(store.db, [b], "s", T + 1)).toEqual([b]);
    expect(await row(a)).toMatchObject({ status: "succeeded", attempts: 1, lease_token: null, lease_until: null });
    expect(await row(b)).toMatchObject({ status: "failed", attempts: 1, lease_token: null });
    // A finished row is never changed again.
    expect(await failDeliveries(store.db, [a], "s", T + 2)).toEqual([]);
  });

  it("schedule retry: due again at the caller's time (each its own), lease dropped", async () => {
    const [a, b] = await leased(2, "r");
    expect(
      (
        await scheduleRetries(
          store.db,
          [
            { id: a, runAt: T + 1500 },
            { id: b, runAt: T + 60_000 },
          ],
          "r",
          T + 1,
        )
      ).sort(),
    ).toEqual([a, b].sort());
    expect(await row(a)).toMatchObject({ status: "pending", attempts: 1, run_at: T + 1500, lease_token: null });
    expect(await row(b)).toMatchObject({ run_at: T + 60_000 });
    const early = await claimDeliveries(store, { now: T + 1600, leaseUntil: T + 20_000, token: "r2", want: 10, suspectWant: 10, cap: 100 });
    expect(early.claimed.map((d) => d.id)).toEqual([a]);
  });

  it("cancel: a leased delivery by its holder, or a webhook's queued event deliveries (not Test ones); counted by their own trigger", async () => {
    const [a] = await leased(1, "c");
    expect(await cancelLeased(store.db, a, "x", T)).toEqual({});
    expect(await cancelLeased(store.db, a, "c", T)).toEqual({ event: 1 });
    expect((await row(a)).status).toBe("cancelled");
    const [r] = await leased(1, "c1", "recover");
    expect(await cancelLeased(store.db, r, "c1", T)).toEqual({ recover: 1 });
    const [b, c] = await leased(2, "c2");
    const [t] = await leased(1, "c3", "test");
    const [r2] = await leased(1, "c4", "recover");
    expect(await cancelPendingOfWebhook(store.db, hook, T, c)).toEqual({ event: 1, recover: 1 });
    expect((await row(b)).status).toBe("cancelled");
    expect((await row(r2)).status).toBe("cancelled");
    expect((await row(c)).status).toBe("pending");
    expect((await row(t)).status).toBe("pending");
  });

  it("a webhook's lowered in-flight limit is dropped when its URL changes or it is enabled again", async () => {
    const limit = async () => (await store.db.selectFrom("webhooks").select("inflight_limit").where("id", "=", hook).executeTakeFirstOrThrow()).inflight_limit;
    await store.db.updateTable("webhooks").set({ inflight_limit: 1 }).where("id", "=", hook).execute();
    expect((await hl.api("PATCH", `/api/v1/projects/q/webhooks/${hook}`, { name: "renamed" })).status).toBe(200);
    expect(await limit()).toBe(1);
    expect((await hl.api("PATCH", `/api/v1/projects/q/webhooks/${hook}`, { url: "https://127.0.0.1:2/y" })).status).toBe(200);
    expect(await limit()).toBeNull();
    await store.db.updateTable("webhooks").set({ inflight_limit: 2 }).where("id", "=", hook).execute();
    expect((await hl.api("PATCH", `/api/v1/projects/q/webhooks/${hook}`, { enabled: false })).status).toBe(200);
    expect((await hl.api("PATCH", `/api/v1/projects/q/webhooks/${hook}`, { enabled: true })).status).toBe(200);
    expect(await limit()).toBeNull();
  });

  it("release: the lease is given back without an attempt counted, and the row is claimable at once", async () => {
    const [a] = await leased(1, "l");
    await releaseLeases(store.db, [a], "l", T + 5);
    expect(await row(a)).toMatchObject({ status: "pending", attempts: 0, lease_token: null, lease_until: null });
    const again = await claimDeliveries(store, { now: T + 6, leaseUntil: T + 20_000, token: "l2", want: 10, suspectWant: 10, cap: 100 });
    expect(again.claimed.map((d) => d.id)).toEqual([a]);
  });
});
