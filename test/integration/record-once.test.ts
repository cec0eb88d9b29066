/**
 * A batch recorded without a read (delivery/record-claimed.ts) is stored by one write; what follows
 * it (folding the batch's results into an in-flight limit another worker changed meanwhile) may
 * fail, say on a dropped connection. That failure must not make the recorder record the batch
 * again: each attempt is logged once and counted once in the hourly rollups.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { recordOutcomes } from "../../src/delivery/record-outcomes.js";
import { outcomeOf } from "./support/outcome.js";
import { claimDeliveries } from "../../src/store/queue/claim.js";
import { enqueue } from "../../src/store/queue/enqueue.js";
import { DIALECTS } from "../helpers/databases.js";
import { startHookline, type TestHookline } from "../helpers/hookline.js";

const failing = vi.hoisted(() => ({ next: false, calls: 0 }));
vi.mock("../../src/store/queue/inflight-limit.js", async (importOriginal) => {
  const original = await importOriginal<typeof import("../../src/store/queue/inflight-limit.js")>();
  return {
    ...original,
    adjustInflightLimits: async (...args: Parameters<typeof original.adjustInflightLimits>) => {
      failing.calls++;
      if (failing.next) {
        failing.next = false;
        throw Object.assign(new Error("Connection terminated unexpectedly"), { code: "ECONNRESET" });
      }
      return original.adjustInflightLimits(...args);
    },
  };
});

const T = 3_000_000;

describe.each(DIALECTS)("a recorded batch is not recorded again (%s)", (dialect) => {
  let hl: TestHookline;

  beforeAll(async () => {
    hl = await startHookline({ dialect, now: () => T });
    await hl.project("once");
  });
  afterAll(async () => {
    await hl?.close();
  });

  it("when folding its results into a limit changed meanwhile fails after the write", async () => {
    const { store } = hl.runtime.ctx;
    const res = await hl.api("POST", "/api/v1/projects/once/webhooks", { name: "h", events: ["test-run.completed"], url: "https://127.0.0.1:1/x" });
    const hook = res.body.id as string;
    await enqueue(
      store.db,
      { id: "evt_once", projectId: "once", event: "test-run.completed", payload: "{}", now: T },
      [{ id: "dlv_once", webhookId: hook, trigger: "event" as const }],
      { maxAttempts: 3, retryDelaysMs: [1000, 2000] },
    );
    const { claimed } = await claimDeliveries(store, { now: T, leaseUntil: T + 60_000, token: "w1", want: 1, suspectWant: 1, cap: 16 });
    expect(claimed).toHaveLength(1);
    expect(claimed[0].state?.inflight_limit).toBeNull();
    // Another worker lowered the webhook's limit after this claim read it.
    await store.db.updateTable("webhooks").set({ inflight_limit: 4 }).where("id", "=", hook).execute();
    const ok = outcomeOf("dlv_once", "w1", { success: true, timedOut: false, statusCode: 200, error: null, durationMs: 12, response: null }, T, claimed[0]);
    failing.next = true;
    failing.calls = 0;
    await recordOutcomes(hl.runtime.ctx, hl.runtime.metrics, [ok]);
    // The fold was tried (the batch took the path without a read) and failed; the batch stands.
    expect(failing.calls).toBe(1);
    const logged = await store.db.selectFrom("log_entries").select(["delivery_id", "success"]).where("webhook_id", "=", hook).execute();
    expect(logged).toEqual([{ delivery_id: "dlv_once", success: 1 }]);
    const delivery = await store.db.selectFrom("deliveries").select(["status", "attempts"]).where("id", "=", "dlv_once").executeTakeFirstOrThrow();
    expect(delivery).toEqual({ status: "succeeded", attempts: 1 });
    const rollups = await store.db.selectFrom("log_hourly_rollups").select(["succeeded", "failed"]).where("webhook_id", "=", hook).execute();
    expect(rollups).toEqual([{ succeeded: 1, failed: 0 }]);
  });
});
