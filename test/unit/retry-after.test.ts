import { describe, expect, it } from "vitest";
import { MAX_RETRY_AFTER_MS, honoursRetryAfter, retryAfterMs } from "../../src/domain/retry-after.js";

const NOW = Date.parse("2026-11-30T18:00:00.000Z");

describe("retryAfterMs", () => {
  it("reads whole seconds", () => {
    expect(retryAfterMs("2", NOW)).toBe(2000);
    expect(retryAfterMs(" 120 ", NOW)).toBe(120_000);
  });
  it("reads an HTTP date in the future", () => {
    expect(retryAfterMs("Mon, 30 Nov 2026 18:00:30 GMT", NOW)).toBe(30_000);
  });
  it("caps at an hour, in seconds and as a date", () => {
    expect(retryAfterMs("86400", NOW)).toBe(MAX_RETRY_AFTER_MS);
    expect(retryAfterMs("99999999999999999999", NOW)).toBeNull(); // not a sane number at all
    expect(retryAfterMs("Tue, 01 Dec 2026 18:00:00 GMT", NOW)).toBe(MAX_RETRY_AFTER_MS);
  });
  it("ignores garbage, zero, negative, fractional and past or present dates", () => {
    for (const bad of [
      "",
      "soon",
      "-5",
      "1.5",
      "0",
      "2 seconds",
      "Mon, 30 Nov 2026 17:59:00 GMT",
      "Mon, 30 Nov 2026 18:00:00 GMT",
      "2026-11-30T19:00:00Z",
      "Sun, 30 Nov 2026 18:00:30 UTC",
    ]) {
      expect(retryAfterMs(bad, NOW), bad).toBeNull();
    }
    expect(retryAfterMs(undefined, NOW)).toBeNull();
  });
});

describe("honoursRetryAfter", () => {
  it("is true for 429 and 503 only", () => {
    expect([429, 503].map(honoursRetryAfter)).toEqual([true, true]);
    expect([200, 500, 502, 410, null].map(honoursRetryAfter)).toEqual([false, false, false, false, false]);
  });
});
