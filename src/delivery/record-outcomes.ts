/**
 * Records finished attempts in one transaction per batch (on PostgreSQL, a batch the claim read
 * enough for is one statement instead: record-claimed.ts): the log entries, each delivery's next
 * state (done, retry, failed: the store's queue operations), the webhooks' in-flight limits, and for
 * a delivery whose retries are spent (or answered 410 Gone), the auto-disable of its webhook
 * (services/webhook-disable.ts).
 */
import type { Next } from "../domain/retry-policy.js";
import { transact } from "../store/db.js";
import { attemptedDeliveries } from "../store/queue/attempted.js";
import { adjustInflightLimits } from "../store/queue/inflight-limit.js";
import { settleAll, type Settlement } from "../store/queue/settle.js";
import { insertLogEntries } from "../store/logs.js";
import type { LogEntryRow } from "../store/schema.js";
import type { Context } from "../services/context.js";
import { announceDisabled, disableWebhook, type Disabled } from "../services/webhook-disable.js";
import type { Metrics } from "./metrics.js";
import { logEntryOf, stepOf, type Outcome } from "./outcome.js";
import { recordClaimed } from "./record-claimed.js";

export type { Outcome } from "./outcome.js";

/** Answers how many webhooks it auto-disabled (each with a notification to send). */
export async function recordOutcomes(ctx: Context, metrics: Metrics, outcomes: Outcome[]): Promise<number> {
  if (outcomes.length === 0) return 0;
  if (await recordClaimed(ctx, metrics, outcomes)) return 0;
  const now = ctx.now();
  const finished: { outcome: string; trigger: string }[] = [];
  const disabled: Disabled[] = [];
  // SQLite: shares its commit with claims and publishes of the same turn (store/sqlite/group-commit.ts).
  await transact(ctx.store, async (trx) => {
    const rows = await attemptedDeliveries(
      trx,
      outcomes.map((o) => o.deliveryId),
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    const logs: LogEntryRow[] = [];
    for (const o of outcomes) {
      const d = byId.get(o.deliveryId);
      if (!d) continue; // the webhook (or project) was deleted meanwhile: nothing of it is kept
      logs.push(logEntryOf(o, d, d.payload));
    }

    // Each delivery's next state: one statement per lease token (one per worker) for the whole batch.
    const steps = new Map<string, Next>();
    const byToken = new Map<string, Settlement[]>();
    for (const o of outcomes) {
      const d = byId.get(o.deliveryId);
      // Cancelled meanwhile, or our lease expired and another worker owns it now: the log is all we add.
      if (!d || d.status !== "pending" || d.lease_token !== o.leaseToken) continue;
      const step = stepOf(ctx, d, o, now);
      steps.set(d.id, step);
      const group = byToken.get(o.leaseToken) ?? [];
      group.push(
        step.kind === "retry"
          ? { id: d.id, status: "pending", runAt: now + step.delayMs, holdsLine: d.ordering === "fifo" }
          : { id: d.id, status: step.kind, runAt: null },
      );
      byToken.set(o.leaseToken, group);
    }
    const updated = new Set<string>();
    for (const [token, group] of byToken) for (const id of await settleAll(trx, group, token, now)) updated.add(id);
    // Time-outs lower a webhook's in-flight limit, successes raise it back (domain/inflight-limit.ts).
    const results = new Map<string, { success: boolean; timedOut: boolean }[]>();
    for (const o of outcomes) {
      const d = byId.get(o.deliveryId);
      if (!d) continue;
      const list = results.get(d.webhook_id);
      if (list) list.push(o.result);
      else results.set(d.webhook_id, [o.result]);
    }
    const limits = new Map(rows.map((r) => [r.webhook_id, r.inflight_limit ?? null]));
    await adjustInflightLimits(trx, results, limits, ctx.config.perWebhookConcurrency);
    for (const [id, step] of steps) {
      if (step.kind === "retry" || !updated.has(id)) continue;
      const d = byId.get(id)!;
      finished.push({ outcome: step.kind, trigger: d.trigger });
      const reason = step.kind === "failed" ? step.disableWebhook : false;
      const done = reason ? await disableWebhook(ctx, trx, d.webhook_id, reason, now, d.id) : null;
      if (done) disabled.push(done);
    }
    // Last, as the one-statement record does (store/postgres/record-batch.ts): deliveries, then the
    // hourly rollups the entries add to. Written first, a rollup row shared with another record
    // of the same webhook (the same hour and duration: time-outs, refused connections) was held
    // while the disable's cancel waited for that record's delivery, which was waiting for the row.
    await insertLogEntries(trx, logs);
  });
  for (const f of finished) metrics.deliveries.inc({ outcome: f.outcome, trigger: f.trigger });
  announceDisabled(ctx, disabled);
  return disabled.length;
}
