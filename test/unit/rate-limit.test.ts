import { describe, expect, it } from "vitest";
import { MAX_BUCKETS, RateLimiter } from "../../src/api/rate-limit.js";

describe("RateLimiter", () => {
  it("allows a minute's budget in a burst, then says how long to wait for the next request", () => {
    const limiter = new RateLimiter(6); // one request per 10 s
    for (let i = 0; i < 6; i++) expect(limiter.take("a", 0), `request ${i + 1}`).toEqual({ ok: true });
    expect(limiter.take("a", 0)).toEqual({ ok: false, retryAfterSeconds: 10 });
    expect(limiter.take("a", 4_000)).toEqual({ ok: false, retryAfterSeconds: 6 });
    expect(limiter.take("a", 10_000)).toEqual({ ok: true });
    expect(limiter.take("a", 10_001)).toMatchObject({ ok: false });
  });

  it("never refuses a client that keeps to the rate", () => {
    const limiter = new RateLimiter(60);
    for (let t = 0; t < 10 * 60_000; t += 1000) expect(limiter.take("steady", t).ok, `at ${t} ms`).toBe(true);
  });

  it("refills up to the budget and no further", () => {
    const limiter = new RateLimiter(3);
    for (let i = 0; i < 3; i++) limiter.take("a", 0);
    const later = 60 * 60_000; // an hour idle refills 3, not 180
    for (let i = 0; i < 3; i++) expect(limiter.take("a", later).ok).toBe(true);
    expect(limiter.take("a", later).ok).toBe(false);
  });

  it("keeps a separate budget per key", () => {
    const limiter = new RateLimiter(1);
    expect(limiter.take("a", 0).ok).toBe(true);
    expect(limiter.take("a", 0).ok).toBe(false);
    expect(limiter.take("b", 0).ok).toBe(true);
  });

  it("0 turns limiting off", () => {
    const limiter = new RateLimiter(0);
    for (let i = 0; i < 10_000; i++) expect(limiter.take("a", 0).ok).toBe(true);
  });

  it("holds at most maxBuckets keys, dropping the least recently used", () => {
    const limiter = new RateLimiter(1, 3);
    for (const k of ["a", "b", "c"]) limiter.take(k, 0);
    limiter.take("a", 0); // touch a: b is now the oldest
    limiter.take("d", 0); // evicts b
    expect(limiter.take("a", 0).ok).toBe(false); // still remembered
    expect(limiter.take("b", 0).ok).toBe(true); // forgotten, so a fresh budget
    expect((limiter as unknown as { buckets: Map<string, unknown> }).buckets.size).toBe(3);
  });

  it("stays bounded under a flood of distinct keys", () => {
    const limiter = new RateLimiter(10);
    for (let i = 0; i < MAX_BUCKETS * 3; i++) limiter.take(`address:10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, i);
    expect((limiter as unknown as { buckets: Map<string, unknown> }).buckets.size).toBe(MAX_BUCKETS);
  });
});
