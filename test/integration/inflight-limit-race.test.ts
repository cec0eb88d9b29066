/**
 * Two workers lowering the same webhook's adaptive in-flight limit at once (domain/inflight-limit.ts)
 * must both count: each records a timed-out attempt to the webhook, so the limit is halved twice
 * (16 → 4), as one worker recording both would. On PostgreSQL both recordings read the limit before
 * either writes: a third connection holds the webhook row until both wait on it, then lets go (a
 * read-then-write update would leave 8). SQLite writes one transaction at a time, across processes
 * too, so there the two recordings run one after the other; the test holds it to the same result.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordOutcomes } from "../../src/delivery/record-outcomes.js";
import { outcomeOf } from "./support/outcome.js";
import { claimDeliveries } from "../../src/store/queue/claim.js";
import { enqueue } from "../../src/store/queue/enqueue.js";
import { DIALECTS } from "../helpers/databases.js";
import { startHookline, type TestHookline } from "../helpers/hookline.js";
import { eventually } from "../helpers/wait.js";

const CAP = 16;
const T = 3_000_000;

describe.each(DIALECTS)("adaptive in-flight limit lowered by two workers at once (%s)", (dialect) => {
  let hl: TestHookline;
  let hook: string;

  beforeAll(async () => {
    hl = await startHookline({ dialect, now: () => T, env: { HOOKLINE_WEBHOOK_CONCURRENCY: String(CAP) } });
    await hl.project("race");
    const res = await hl.api("POST", "/api/v1/projects/race/webhooks", { name: "h", events: ["test-run.completed"], url: "https://127.0.0.1:1/x" });
    hook = res.body.id;
  });
  afterAll(async () => {
    await hl?.close();
  });

  it("halves the limit once per time-out, whichever worker records it", async () => {
    const { store } = hl.runtime.ctx;
    await enqueue(
      store.db,
      { id: "evt_race", projectId: "race", event: "test-run.completed", payload: "{}", now: T },
      ["a", "b"].map((w) => ({ id: `dlv_race_${w}`, webhookId: hook, trigger: "event" as const })),
      { maxAttempts: 3, retryDelaysMs: [1000, 2000] },
    );
    // Each worker leases one of the two deliveries under its own token.
    for (const token of ["a", "b"]) {
      const { claimed } = await claimDeliveries(store, { now: T, leaseUntil: T + 60_000, token, want: 1, suspectWant: 1, cap: CAP });
      expect(claimed).toHaveLength(1);
    }
    const rows = await store.db.selectFrom("deliveries").select(["id", "lease_token"]).execute();
    const timedOut = (token: string) =>
      outcomeOf(
        rows.find((r) => r.lease_token === token)!.id,
        token,
        { success: false, timedOut: true, statusCode: null, error: "timeout", durationMs: 1000, response: null },
        T,
      );
    const record = (token: string) => recordOutcomes(hl.runtime.ctx, hl.runtime.metrics, [timedOut(token)]);

    if (dialect === "postgres") {
      const holder = new pg.Client({ connectionString: hl.db.url });
      await holder.connect();
      try {
        await holder.query("begin");
        await holder.query("select 1 from webhooks where id = $1 for no key update", [hook]);
        const both = Promise.all([record("a"), record("b")]);
        // Both recordings have read the limit and wait to write it.
        await eventually(
          async () => {
            // Activity statistics are read once per transaction unless cleared.
            await holder.query("select pg_stat_clear_snapshot()");
            const { rows: waiting } = await holder.query(
              "select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and pid <> pg_backend_pid()",
            );
            return waiting[0].n === 2;
          },
          4_000,
          "both recordings waiting on the webhook row",
        );
        await holder.query("commit");
        await both;
      } finally {
        await holder.end();
      }
    } else {
      await Promise.all([record("a"), record("b")]);
    }
    const after = await store.db.selectFrom("webhooks").select("inflight_limit").where("id", "=", hook).executeTakeFirstOrThrow();
    expect(after.inflight_limit).toBe(CAP / 4);
    const settled = await store.db.selectFrom("deliveries").select(["status", "attempts", "lease_token"]).execute();
    expect(settled).toEqual([
      { status: "pending", attempts: 1, lease_token: null },
      { status: "pending", attempts: 1, lease_token: null },
    ]);
  });
});
