/** What happens after an attempt: done, retry later, or give up (and, for events, disable). */
import { honoursRetryAfter, retryAfterMs } from "./retry-after.js";

export type Next = { kind: "succeeded" } | { kind: "retry"; delayMs: number } | { kind: "failed"; disableWebhook: false | "failures" | "gone" };

/** Deliveries of published events (first sends and recovers) retry, and disable a webhook that keeps failing or is gone. */
const SCHEDULED = new Set(["event", "recover"]);

/**
 * `attemptsMade` counts this attempt. Test and Redeliver deliveries have maxAttempts 1 and never
 * disable a webhook; event (and recover) deliveries retry after each delay in turn, then disable.
 * The receiver's answer can change that: `410 Gone` fails at once and disables the webhook ("gone");
 * `Retry-After` on a 429 or 503 makes the next retry wait at least that long (capped at an hour),
 * without adding an attempt.
 */
export function nextStep(o: {
  success: boolean;
  attemptsMade: number;
  maxAttempts: number;
  trigger: string;
  retryDelaysMs: number[];
  status?: number | null;
  retryAfter?: string;
  now?: number;
}): Next {
  if (o.success) return { kind: "succeeded" };
  if (o.status === 410) return { kind: "failed", disableWebhook: SCHEDULED.has(o.trigger) ? "gone" : false };
  if (o.attemptsMade < o.maxAttempts) {
    const delay = o.retryDelaysMs[o.attemptsMade - 1] ?? o.retryDelaysMs[o.retryDelaysMs.length - 1] ?? 0;
    const asked = honoursRetryAfter(o.status ?? null) ? retryAfterMs(o.retryAfter, o.now ?? Date.now()) : null;
    return { kind: "retry", delayMs: Math.max(delay, asked ?? 0) };
  }
  return { kind: "failed", disableWebhook: SCHEDULED.has(o.trigger) ? "failures" : false };
}
