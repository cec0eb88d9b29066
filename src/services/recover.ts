/**
 * POST …/webhooks/{id}/recover: resend what a webhook missed. The window is walked a page at a time,
 * each page its own short transaction, with the event loop free between pages: a recover of 100,000
 * events neither holds a lock for long nor keeps the API from answering, and its deliveries go
 * through the same fair claim as everything else (other webhooks keep their share).
 */
import { ValidationError, WebhookDisabledError, type FieldError } from "../domain/errors.js";
import { newId } from "../domain/ids.js";
import { transact } from "../store/db.js";
import { recoverPage } from "../store/queue/recover.js";
import type { Context } from "./context.js";
import { parseIsoTime } from "./logs.js";
import { findWebhookRow } from "./webhooks.js";

const DAY = 24 * 3600 * 1000;
/** Events one page reads (and at most deliveries it writes). */
const PAGE = 1000;

function validateRecoverWindow(input: unknown, now: number, retentionDays: number): { since: number; until: number } {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new ValidationError([{ field: "body", message: "The request body must be a JSON object with since (and optionally until)." }]);
  }
  const body = input as { since?: unknown; until?: unknown };
  const errors: FieldError[] = [];
  const oldest = now - retentionDays * DAY;
  const time = (field: "since" | "until", raw: unknown): number | null => {
    if (typeof raw !== "string" || !Number.isFinite(parseIsoTime(raw))) {
      errors.push({ field, message: `${field} must be an ISO-8601 time, e.g. ${new Date(oldest + DAY).toISOString()}.` });
      return null;
    }
    return parseIsoTime(raw);
  };
  const since = body.since === undefined ? (errors.push({ field: "since", message: "since is required." }), null) : time("since", body.since);
  const until = body.until === undefined || body.until === null ? now : time("until", body.until);
  if (since !== null && since < oldest) {
    errors.push({ field: "since", message: `since must be within the log retention (${retentionDays} days): at or after ${new Date(oldest).toISOString()}.` });
  }
  if (since !== null && until !== null && since > until) errors.push({ field: "since", message: "since must not be after until." });
  if (errors.length > 0) throw new ValidationError(errors);
  return { since: since!, until: Math.min(until!, now) };
}

export async function recoverWebhook(ctx: Context, projectId: string, webhookId: string, input: unknown): Promise<{ deliveries: number }> {
  const hook = await findWebhookRow(ctx, projectId, webhookId);
  const now = ctx.now();
  const { since, until } = validateRecoverWindow(input ?? {}, now, ctx.config.logRetentionDays);
  if (hook.enabled !== 1) throw new WebhookDisabledError("The webhook is disabled: enable it first, then recover what it missed.");
  const schedule = { maxAttempts: 1 + ctx.config.retryDelaysMs.length, retryDelaysMs: ctx.config.retryDelaysMs };
  let after: { at: number; id: string } | null = null;
  let total = 0;
  for (;;) {
    const page = await transact(ctx.store, (trx) =>
      recoverPage(trx, { webhookId: hook.id, projectId, from: Math.max(since, Number(hook.created_at)), to: until, after, limit: PAGE }, schedule, now, (at) =>
        newId("dlv", at),
      ),
    );
    total += page.queued;
    if (page.queued > 0) ctx.signals.emit("published");
    if (!page.next) break;
    after = page.next;
    await new Promise((r) => setImmediate(r)); // let requests and attempts in between pages
  }
  return { deliveries: total };
}
