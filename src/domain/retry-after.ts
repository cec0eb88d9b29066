/**
 * Answers that change the schedule (docs/receivers.md, "Answers that change the schedule"): a 429 or
 * 503 with `Retry-After` pushes the next retry back, never forward, and adds no attempt.
 */

/** The longest wait a receiver can ask for; a larger one is cut to this. */
export const MAX_RETRY_AFTER_MS = 3600_000;

const HTTP_DATE = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;

/**
 * How long the receiver asked to wait, in ms, from `Retry-After` (whole seconds, or an HTTP date,
 * RFC 9110), capped at an hour; null when the header is absent, malformed or a date not in the future.
 */
export function retryAfterMs(value: string | undefined, now: number): number | null {
  if (value === undefined) return null;
  const v = value.trim();
  if (/^\d{1,10}$/.test(v)) {
    const ms = Number(v) * 1000;
    return ms > 0 ? Math.min(ms, MAX_RETRY_AFTER_MS) : null;
  }
  if (!HTTP_DATE.test(v)) return null;
  const at = Date.parse(v);
  if (!Number.isFinite(at) || at <= now) return null;
  return Math.min(at - now, MAX_RETRY_AFTER_MS);
}

/** The statuses whose `Retry-After` is honoured. */
export function honoursRetryAfter(status: number | null): boolean {
  return status === 429 || status === 503;
}
