/**
 * Disabling a webhook, whoever does it (a user through the API, or the worker after a delivery's
 * last failed attempt or a 410 Gone): the webhook stops, its queued event and recover deliveries
 * are cancelled, an automatic disable raises the owner's notification, and once the transaction has
 * committed the disable and the cancellations are counted (delivery/metrics.ts listens).
 */
import type { Kysely } from "kysely";
import { newId } from "../domain/ids.js";
import { insertNotification } from "../store/notifications.js";
import { cancelledTotal, cancelPendingOfWebhook, type CancelledByTrigger } from "../store/queue/cancel.js";
import type { Database, DisabledReason } from "../store/schema.js";
import { markDisabled } from "../store/webhooks.js";
import type { Context } from "./context.js";

export interface Disabled {
  webhookId: string;
  reason: DisabledReason;
  cancelled: CancelledByTrigger;
}

/**
 * In the caller's transaction: disables the webhook unless it is disabled already (then answers
 * null: a second failing delivery, or a second request, finds it so). `keepDeliveryId` is the
 * delivery whose failure disabled it, settled by the caller.
 */
export async function disableWebhook(
  ctx: Context,
  trx: Kysely<Database>,
  webhookId: string,
  reason: DisabledReason,
  now: number,
  keepDeliveryId?: string,
): Promise<Disabled | null> {
  if (!(await markDisabled(trx, webhookId, reason, now))) return null;
  const cancelled = await cancelPendingOfWebhook(trx, webhookId, now, keepDeliveryId);
  // A user who disabled it knows; an automatic disable is news to the owner.
  if (reason !== "manual") await notifyDisabled(ctx, trx, webhookId, reason, cancelledTotal(cancelled), now);
  return { webhookId, reason, cancelled };
}

/** After the commit: counts the disables and their cancellations (uncommitted work is never counted). */
export function announceDisabled(ctx: Context, disabled: Disabled[]): void {
  for (const d of disabled) {
    ctx.signals.emit("webhook-disabled", d.reason);
    announceCancelled(ctx, d.cancelled);
  }
}

/** After the commit: counts cancelled deliveries, each under its own trigger. */
export function announceCancelled(ctx: Context, cancelled: CancelledByTrigger): void {
  if (cancelledTotal(cancelled) > 0) ctx.signals.emit("cancelled", cancelled);
}

async function notifyDisabled(ctx: Context, trx: Kysely<Database>, webhookId: string, reason: "failures" | "gone", cancelled: number, now: number) {
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
}
