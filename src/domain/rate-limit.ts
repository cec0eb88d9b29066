/**
 * A webhook's rate limit (docs/delivery-policies.md, "Rate limits"): attempt starts, retries
 * included, within `per_second × t + max(1, per_second)` in any interval of t seconds, across all
 * workers. Counted as a generic cell rate algorithm: the webhook row keeps `tat`, the time its next
 * start is due at the steady rate; a start is allowed while `tat` is at most `burst` intervals
 * ahead of now, and each start moves `tat` one interval on. That admits at most
 * `1 + floor((t + (burst − 1) × interval) / interval)` = `burst + floor(per_second × t)` starts in
 * any t seconds, with burst = max(1, per_second) rounded down. Pure: the claim applies it
 * (store/queue/rate-limit.ts), unit tests check the bound.
 */

export const RATE_MIN = 0.01;
export const RATE_MAX = 1000;

export interface RateLimit {
  per_second: number;
}

const intervalMs = (perSecond: number) => 1000 / perSecond;
const burstOf = (perSecond: number) => Math.max(1, Math.floor(perSecond));

/** How many starts may be made at `now`, and when the next one is allowed if none may. */
export function rateAllowance(perSecond: number, tat: number | null, now: number): { free: number; nextAt: number | null } {
  const interval = intervalMs(perSecond);
  const ahead = Math.max(0, (tat ?? now) - now);
  // A start at `now` is allowed while ahead + interval <= burst × interval.
  const free = Math.floor((burstOf(perSecond) * interval - ahead) / interval + 1e-9);
  if (free > 0) return { free, nextAt: null };
  return { free: 0, nextAt: Math.ceil((tat ?? now) - (burstOf(perSecond) - 1) * interval) };
}

/** `tat` after `starts` starts at `now` (rounded up to the millisecond: never more than allowed). */
export function advanceTat(perSecond: number, tat: number | null, now: number, starts: number): number {
  return Math.ceil(Math.max(tat ?? now, now) + starts * intervalMs(perSecond));
}

/** Null when valid; otherwise the error, naming the path. */
export function rateLimitError(raw: unknown): { field: string; message: string } | null {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    return { field: "rate_limit", message: 'rate_limit must be an object like {"per_second": 5}, or null for no limit.' };
  }
  const extra = Object.keys(raw).find((k) => k !== "per_second");
  if (extra !== undefined) return { field: `rate_limit.${extra}`, message: `unknown field "${extra}"; rate_limit has only per_second.` };
  const v = (raw as { per_second?: unknown }).per_second;
  if (typeof v !== "number" || !Number.isFinite(v) || v < RATE_MIN || v > RATE_MAX) {
    return { field: "rate_limit.per_second", message: `per_second must be a number from ${RATE_MIN} to ${RATE_MAX} (attempt starts per second).` };
  }
  return null;
}
