/**
 * How many attempts one webhook may have in flight, across all workers: HOOKLINE_WEBHOOK_CONCURRENCY,
 * halved each time an attempt to it times out (down to one) and raised by one per successful attempt
 * (up to the setting again; then no limit of its own is kept). An endpoint that hangs thus holds one
 * slot instead of sixteen after its first attempts time out, and a webhook with a lowered limit counts
 * as "suspect": it shares only part of each worker's slots (store/queue/fair-share.ts). Failures that
 * end quickly (refused, 5xx) hold no slot for long and leave the limit alone.
 *
 * `current` null: the webhook has no lowered limit. Answers the new one (null: the setting).
 */
export function nextInflightLimit(current: number | null, cap: number, results: { success: boolean; timedOut: boolean }[]): number | null {
  let limit = current === null ? cap : Math.min(current, cap);
  let lowered = current !== null && current < cap;
  for (const r of results) {
    if (r.timedOut) {
      limit = Math.max(1, Math.floor(limit / 2));
      lowered = true;
    } else if (r.success && lowered) {
      limit += 1;
      if (limit >= cap) lowered = false;
    }
  }
  return lowered ? limit : null;
}
