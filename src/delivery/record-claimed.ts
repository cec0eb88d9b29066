/**
 * Recording a batch from what the claim read (store/queue/record-batch.ts), without reading first:
 * on PostgreSQL one statement instead of a transaction of six round trips, on SQLite three
 * statements in the group commit instead of a read and four. Used when the claimed state decides
 * everything: each outcome's delivery came with its state, no step disables a webhook, and no
 * webhook's in-flight limit changes from the value the claim read. Anything else
 * goes through the reading record (record-outcomes.ts), in one transaction as before. The write
 * applies a step only while the delivery is still pending and leased by the attempt's token: then
 * nobody else changed what the step was decided from since the claim.
 *
 * A limit another worker changed after the claim (the statement answers the limits as they are)
 * gets this batch's results folded into it afterwards, by the same compare-and-set as the reading
 * record (store/queue/inflight-limit.ts).
 */
import { nextInflightLimit } from "../domain/inflight-limit.js";
import type { Context } from "../services/context.js";
import { adjustInflightLimits } from "../store/queue/inflight-limit.js";
import { recordBatch, type BatchRecord } from "../store/queue/record-batch.js";
import type { Metrics } from "./metrics.js";
import { logEntryOf, stepOf, type Outcome } from "./outcome.js";

type Result = { success: boolean; timedOut: boolean };

/** Answers false (nothing written) when the batch needs the reading record. */
export async function recordClaimed(ctx: Context, metrics: Metrics, outcomes: Outcome[]): Promise<boolean> {
  const now = ctx.now();
  const cap = ctx.config.perWebhookConcurrency;
  const batch: BatchRecord[] = [];
  const finished = new Map<string, string>();
  const results = new Map<string, Result[]>();
  const claimedLimit = new Map<string, number | null>();
  for (const o of outcomes) {
    const d = o.claimed;
    if (!d?.state || !d.target) return false;
    const delivery = {
      id: d.id,
      webhook_id: d.webhook_id,
      project_id: d.project_id,
      trigger: d.trigger,
      attempts: d.attempts,
      max_attempts: d.max_attempts,
      retry_delays: d.state.retry_delays,
    };
    const step = stepOf(ctx, delivery, o, now);
    if (step.kind === "failed" && step.disableWebhook) return false;
    batch.push({
      log: logEntryOf(o, delivery, d.target.payload),
      token: o.leaseToken,
      next: step.kind === "retry" ? { status: "pending", runAt: now + step.delayMs } : { status: step.kind, runAt: null },
    });
    if (step.kind !== "retry") finished.set(d.id, step.kind);
    const list = results.get(d.webhook_id);
    if (list) list.push(o.result);
    else results.set(d.webhook_id, [o.result]);
    claimedLimit.set(d.webhook_id, d.state.inflight_limit);
  }
  for (const [id, list] of results) if (nextInflightLimit(claimedLimit.get(id)!, cap, list) !== claimedLimit.get(id)) return false;
  const written = recordBatch(ctx.store, batch, now);
  if (!written) return false;
  const { settled, limits } = await written;
  // A limit changed since the claim: this batch's successes count against the value now committed.
  // The batch is stored by now, so a failure here must not reach the recorder, which would record
  // the batch again: a second log entry per attempt, counted twice in the rollups. The limit stays
  // as it is; the webhook's next results move it again.
  const moved = new Map([...results].filter(([id]) => limits.has(id) && limits.get(id) !== claimedLimit.get(id)));
  if (moved.size > 0)
    await adjustInflightLimits(ctx.store.db, moved, limits, cap).catch((err: unknown) =>
      ctx.log.warn({ err: { message: (err as Error).message, code: (err as { code?: string }).code } }, "in-flight limit not adjusted after a recorded batch"),
    );
  const byId = new Map(outcomes.map((o) => [o.deliveryId, o.claimed!.trigger]));
  for (const id of settled) {
    const outcome = finished.get(id);
    if (outcome) metrics.deliveries.inc({ outcome, trigger: byId.get(id)! });
  }
  return true;
}
