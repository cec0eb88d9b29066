/**
 * Records finished attempts in one transaction per batch (on PostgreSQL, a batch the claim read
 * enough for is one statement instead: record-claimed.ts): the log entries, each delivery's next
 * state (done, retry, failed: the store's queue operations), the webhooks' in-flight limits, and for
 * a delivery whose retries are spent (or answered 410 Gone), the auto-disable of its webhook
 * (services/webhook-disable.ts).
 */
import { newId } from "../domain/ids.js";
import { nextStep, type Next } from "../domain/retry-policy.js";
import type { AttemptResult } from "./sender.js";
import { transact } from "../store/db.js";
import { attemptedDeliveries, type AttemptedDelivery } from "../store/queue/attempted.js";
import { adjustInflightLimits } from "../store/queue/inflight-limit.js";
import { settleAll, type Settlement } from "../store/queue/settle.js";
import { insertLogEntries, storedRequest } from "../store/logs.js";
import type { LogEntryRow } from "../store/schema.js";
import type { Context } from "../services/context.js";
import { announceDisabled, disableWebhook, type Disabled } from "../services/webhook-disable.js";
import type { Metrics } from "./metrics.js";
import type { ClaimedDelivery } from "../store/queue/types.js";
import { recordClaimed } from "./record-claimed.js";

export interface Outcome {
  deliveryId: string;
  leaseToken: string;
  attempt: number;
  event: string;
  request: { method: string; url: string; headers: Record<string, string>; body: string };
  result: AttemptResult;
  at: number;
  /** The delivery as claimed: with its state (PostgreSQL), the batch is recorded without a read (record-claimed.ts). */
  claimed?: ClaimedDelivery;
}

type Attempted = Pick<AttemptedDelivery, "id" | "webhook_id" | "project_id" | "trigger" | "attempts" | "max_attempts" | "retry_delays">;

/** The log entry of an attempt (its body stored as a reference to the event's payload when it is that: logs.ts). */
export function logEntryOf(o: Outcome, d: Attempted, payload: string): LogEntryRow {
  return {
    id: newId("log", o.at),
    webhook_id: d.webhook_id,
    delivery_id: d.id,
    project_id: d.project_id,
    event: o.event,
    attempt: o.attempt,
    trigger: d.trigger,
    success: o.result.success ? 1 : 0,
    status_code: o.result.statusCode,
    error: o.result.error,
    duration_ms: Math.round(o.result.durationMs),
    created_at: o.at,
    request: storedRequest(o.request, payload),
    response: o.result.response ? JSON.stringify(o.result.response) : null,
  };
}

/** The delivery's next step after this attempt (domain/retry-policy.ts). */
export function stepOf(ctx: Context, d: Attempted, o: Outcome, now: number): Next {
  // The schedule the delivery was created with (older rows: the configured one).
  const retryDelaysMs = d.retry_delays ? (JSON.parse(d.retry_delays) as number[]) : ctx.config.retryDelaysMs;
  return nextStep({
    success: o.result.success,
    attemptsMade: d.attempts + 1,
    maxAttempts: d.max_attempts,
    trigger: d.trigger,
    retryDelaysMs,
    // The receiver's answer may change the schedule: Retry-After on 429/503, 410 Gone.
    status: o.result.statusCode,
    retryAfter: o.result.response?.headers["retry-after"],
    now,
  });
}

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
    await insertLogEntries(trx, logs);

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
      if (d) results.set(d.webhook_id, [...(results.get(d.webhook_id) ?? []), o.result]);
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
  });
  for (const f of finished) metrics.deliveries.inc({ outcome: f.outcome, trigger: f.trigger });
  announceDisabled(ctx, disabled);
  return disabled.length;
}
