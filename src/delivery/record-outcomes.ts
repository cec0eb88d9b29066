/**
 * Records finished attempts in one transaction per batch: the log entries, each delivery's next
 * state (done, retry, failed: the store's queue operations), the webhooks' in-flight limits, and for
 * a delivery whose retries are spent, the auto-disable of its webhook with the cancellation of its
 * queued deliveries and the owner notification.
 */
import { newId } from "../domain/ids.js";
import { nextStep, type Next } from "../domain/retry-policy.js";
import type { AttemptResult } from "./sender.js";
import { transact } from "../store/db.js";
import { cancelPendingOfWebhook } from "../store/queue/cancel.js";
import { attemptedDeliveries } from "../store/queue/attempted.js";
import { adjustInflightLimits } from "../store/queue/inflight-limit.js";
import { settleAll, type Settlement } from "../store/queue/settle.js";
import { insertLogEntries, storedRequest } from "../store/logs.js";
import { insertNotification } from "../store/notifications.js";
import type { Transaction } from "kysely";
import type { Database, LogEntryRow } from "../store/schema.js";
import type { Context } from "../services/context.js";
import type { Metrics } from "./metrics.js";

export interface Outcome {
  deliveryId: string;
  leaseToken: string;
  attempt: number;
  event: string;
  request: { method: string; url: string; headers: Record<string, string>; body: string };
  result: AttemptResult;
  at: number;
}

/** Answers how many webhooks it auto-disabled (each with a notification to send). */
export async function recordOutcomes(ctx: Context, metrics: Metrics, outcomes: Outcome[]): Promise<number> {
  if (outcomes.length === 0) return 0;
  const now = ctx.now();
  const finished: { outcome: string; trigger: string }[] = [];
  let cancelledByDisable = 0;
  const disabledFor = { failures: 0, gone: 0 };
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
      logs.push({
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
        request: storedRequest(o.request, d.payload),
        response: o.result.response ? JSON.stringify(o.result.response) : null,
      });
    }
    await insertLogEntries(trx, logs);

    // Each delivery's next state: one statement per lease token (one per worker) for the whole batch.
    const steps = new Map<string, Next>();
    const byToken = new Map<string, Settlement[]>();
    for (const o of outcomes) {
      const d = byId.get(o.deliveryId);
      // Cancelled meanwhile, or our lease expired and another worker owns it now: the log is all we add.
      if (!d || d.status !== "pending" || d.lease_token !== o.leaseToken) continue;
      // The schedule the delivery was created with (older rows: the configured one).
      const retryDelaysMs = d.retry_delays ? (JSON.parse(d.retry_delays) as number[]) : ctx.config.retryDelaysMs;
      const step = nextStep({
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
      const cancelled = reason ? await autoDisable(ctx, trx, d.webhook_id, d.id, now, reason) : null;
      if (reason && cancelled !== null) {
        disabledFor[reason]++;
        cancelledByDisable += cancelled;
      }
    }
  });
  for (const f of finished) metrics.deliveries.inc({ outcome: f.outcome, trigger: f.trigger });
  // The queued deliveries an auto-disable cancelled are finished deliveries too.
  if (cancelledByDisable > 0) metrics.deliveries.inc({ outcome: "cancelled", trigger: "event" }, cancelledByDisable);
  for (const reason of ["failures", "gone"] as const) if (disabledFor[reason] > 0) metrics.webhooksDisabled.inc({ reason }, disabledFor[reason]);
  return disabledFor.failures + disabledFor.gone;
}

type Trx = Transaction<Database>;

/**
 * Disables the webhook once (a second failing delivery finds it disabled) and raises the
 * notification — after failures (retries spent) or because the endpoint answered 410 Gone; answers
 * how many queued deliveries it cancelled, or null when it was disabled already.
 */
async function autoDisable(ctx: Context, trx: Trx, webhookId: string, deliveryId: string, now: number, reason: "failures" | "gone"): Promise<number | null> {
  const res = await trx
    .updateTable("webhooks")
    .set({ enabled: 0, disabled_reason: reason, disabled_at: now, updated_at: now })
    .where("id", "=", webhookId)
    .where("enabled", "=", 1)
    .executeTakeFirst();
  if (Number(res.numUpdatedRows) === 0) return null;
  const cancelled = await cancelPendingOfWebhook(trx, webhookId, now, deliveryId);
  const hook = await trx.selectFrom("webhooks").select(["name", "url", "project_id"]).where("id", "=", webhookId).executeTakeFirstOrThrow();
  const project = await trx.selectFrom("projects").select(["notification_emails"]).where("id", "=", hook.project_id).executeTakeFirstOrThrow();
  const emails = JSON.parse(project.notification_emails) as string[];
  const attempts = 1 + ctx.config.retryDelaysMs.length;
  const email = ctx.config.smtpUrl && emails.length > 0 ? "pending" : "none";
  const callback = ctx.config.notifyUrl ? "pending" : "none";
  await insertNotification(trx, {
    id: newId("ntf", now),
    project_id: hook.project_id,
    kind: "webhook.disabled",
    webhook_id: webhookId,
    message:
      (reason === "gone"
        ? `Webhook "${hook.name}" (${hook.url}) was disabled because the endpoint answered 410 Gone.`
        : `Webhook "${hook.name}" (${hook.url}) was disabled after ${attempts} failed ${attempts === 1 ? "attempt" : "attempts"} of one delivery.`) +
      (cancelled > 0 ? ` ${cancelled} queued ${cancelled === 1 ? "delivery was" : "deliveries were"} cancelled.` : "") +
      " Fix the endpoint, then enable the webhook again.",
    created_at: now,
    read_at: null,
    email_state: email,
    callback_state: callback,
    outbox_run_at: email === "pending" || callback === "pending" ? now : null,
    outbox_attempts: 0,
  });
  ctx.log.warn(
    { webhook_id: webhookId, project_id: hook.project_id },
    reason === "gone" ? "webhook disabled: the endpoint answered 410 Gone" : "webhook disabled after repeated failures",
  );
  return cancelled;
}
