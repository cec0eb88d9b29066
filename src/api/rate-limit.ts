/**
 * Per-token API rate limiting (HOOKLINE_RATE_LIMIT requests per minute). A token bucket per key:
 * it holds up to `perMinute` requests (a full minute's budget may be spent in a burst) and refills
 * continuously, so a client that keeps to the rate is never refused.
 *
 * Keys: a portal token's signature, or the client address for requests without a valid token
 * (guessing tokens is throttled without one bad client blocking anyone who has a token). The admin
 * token is never limited: a host app publishes with it at whatever rate it produces events.
 *
 * Buckets live in this process's memory: with N API nodes a client may make N times the rate.
 * Their number is capped, least recently used first out, so a flood of new addresses cannot grow
 * memory without bound.
 */
export const MAX_BUCKETS = 10_000;

interface Bucket {
  tokens: number;
  /** Epoch ms of the last refill. */
  at: number;
}

export type RateVerdict = { ok: true } | { ok: false; retryAfterSeconds: number };

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMs: number;

  /** `perMinute` 0 turns limiting off. */
  constructor(
    private readonly perMinute: number,
    private readonly maxBuckets = MAX_BUCKETS,
  ) {
    this.perMs = perMinute / 60_000;
  }

  get enabled(): boolean {
    return this.perMinute > 0;
  }

  /** Counts one request for `key` at `now`; refuses it (with the wait) when the bucket is empty. */
  take(key: string, now: number): RateVerdict {
    if (!this.enabled) return { ok: true };
    let bucket = this.buckets.get(key);
    if (bucket) {
      this.buckets.delete(key); // re-inserted below: Map order is least recently used first
      bucket.tokens = Math.min(this.perMinute, bucket.tokens + Math.max(0, now - bucket.at) * this.perMs);
      bucket.at = now;
    } else {
      bucket = { tokens: this.perMinute, at: now };
      if (this.buckets.size >= this.maxBuckets) this.buckets.delete(this.buckets.keys().next().value as string);
    }
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / this.perMs / 1000)) };
  }
}
