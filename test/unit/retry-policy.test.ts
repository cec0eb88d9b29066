/** The retry policy's next step (src/domain/retry-policy.ts), every branch, without a database. */
import { describe, expect, it } from "vitest";
import { MAX_RETRY_AFTER_MS } from "../../src/domain/retry-after.js";
import { nextStep } from "../../src/domain/retry-policy.js";

const NOW = Date.parse("2026-11-30T18:00:00.000Z");
const DELAYS = [1000, 10_000, 100_000];
/** An event delivery's failed attempt `attemptsMade` of 1 + DELAYS.length. */
const failed = (attemptsMade: number, more: Partial<Parameters<typeof nextStep>[0]> = {}) =>
  nextStep({ success: false, attemptsMade, maxAttempts: 1 + DELAYS.length, trigger: "event", retryDelaysMs: DELAYS, status: 500, now: NOW, ...more });

describe("nextStep", () => {
  it("a success is done, whatever the attempt, trigger or status", () => {
    for (const trigger of ["event", "recover", "test", "redeliver"]) {
      expect(nextStep({ success: true, attemptsMade: 1, maxAttempts: 4, trigger, retryDelaysMs: DELAYS, status: 200 })).toEqual({ kind: "succeeded" });
      expect(nextStep({ success: true, attemptsMade: 4, maxAttempts: 4, trigger, retryDelaysMs: DELAYS, status: 410 })).toEqual({ kind: "succeeded" });
    }
  });

  it("a failed event delivery retries after each configured delay in turn", () => {
    expect([1, 2, 3].map((n) => failed(n))).toEqual(DELAYS.map((delayMs) => ({ kind: "retry", delayMs })));
  });

  it("a recover delivery follows the same schedule", () => {
    expect(failed(2, { trigger: "recover" })).toEqual({ kind: "retry", delayMs: 10_000 });
  });

  it("the last attempt fails the delivery and disables the webhook (failures) for event and recover deliveries", () => {
    expect(failed(4)).toEqual({ kind: "failed", disableWebhook: "failures" });
    expect(failed(4, { trigger: "recover" })).toEqual({ kind: "failed", disableWebhook: "failures" });
    // Attempts past the maximum (a schedule shortened meanwhile) fail the same way.
    expect(failed(7)).toEqual({ kind: "failed", disableWebhook: "failures" });
  });

  it("Test and Redeliver make one attempt and never disable the webhook", () => {
    for (const trigger of ["test", "redeliver"]) {
      expect(nextStep({ success: false, attemptsMade: 1, maxAttempts: 1, trigger, retryDelaysMs: DELAYS, status: 500 })).toEqual({
        kind: "failed",
        disableWebhook: false,
      });
      expect(nextStep({ success: false, attemptsMade: 1, maxAttempts: 1, trigger, retryDelaysMs: DELAYS, status: 410 })).toEqual({
        kind: "failed",
        disableWebhook: false,
      });
    }
  });

  it("410 Gone fails at once and disables an event or recover delivery's webhook (gone), even with retries left", () => {
    expect(failed(1, { status: 410 })).toEqual({ kind: "failed", disableWebhook: "gone" });
    expect(failed(4, { status: 410, trigger: "recover" })).toEqual({ kind: "failed", disableWebhook: "gone" });
  });

  it("a schedule shorter than the attempts repeats its last delay; none at all retries at once", () => {
    expect(failed(3, { retryDelaysMs: [1000] })).toEqual({ kind: "retry", delayMs: 1000 });
    expect(failed(1, { retryDelaysMs: [] })).toEqual({ kind: "retry", delayMs: 0 });
  });

  it("a connection failure (no status) retries on the schedule", () => {
    expect(failed(1, { status: null, retryAfter: "120" })).toEqual({ kind: "retry", delayMs: 1000 });
    expect(failed(1, { status: undefined })).toEqual({ kind: "retry", delayMs: 1000 });
  });

  describe("Retry-After", () => {
    it("on a 429 or 503, in seconds, pushes the retry back but never forward", () => {
      for (const status of [429, 503]) {
        expect(failed(1, { status, retryAfter: "120" })).toEqual({ kind: "retry", delayMs: 120_000 });
        expect(failed(3, { status, retryAfter: "5" })).toEqual({ kind: "retry", delayMs: 100_000 });
      }
    });

    it("as an HTTP date, counted from now", () => {
      expect(failed(1, { status: 503, retryAfter: "Mon, 30 Nov 2026 18:05:00 GMT" })).toEqual({ kind: "retry", delayMs: 300_000 });
      // A date in the past asks for nothing: the schedule's delay stands.
      expect(failed(1, { status: 503, retryAfter: "Mon, 30 Nov 2026 17:00:00 GMT" })).toEqual({ kind: "retry", delayMs: 1000 });
    });

    it("is capped at an hour, in seconds and as a date", () => {
      expect(failed(1, { status: 429, retryAfter: "86400" })).toEqual({ kind: "retry", delayMs: MAX_RETRY_AFTER_MS });
      expect(failed(1, { status: 429, retryAfter: "Tue, 01 Dec 2026 18:00:00 GMT" })).toEqual({ kind: "retry", delayMs: MAX_RETRY_AFTER_MS });
      // The cap limits what the receiver asks for, not the configured schedule.
      expect(failed(1, { status: 429, retryAfter: "86400", retryDelaysMs: [2 * MAX_RETRY_AFTER_MS] })).toEqual({
        kind: "retry",
        delayMs: 2 * MAX_RETRY_AFTER_MS,
      });
    });

    it("is ignored on other statuses and when malformed", () => {
      for (const status of [500, 502, 200, 404]) expect(failed(1, { status, retryAfter: "120" })).toEqual({ kind: "retry", delayMs: 1000 });
      expect(failed(1, { status: 429, retryAfter: "soon" })).toEqual({ kind: "retry", delayMs: 1000 });
      expect(failed(1, { status: 429 })).toEqual({ kind: "retry", delayMs: 1000 });
    });

    it("adds no attempt: the last attempt still fails the delivery", () => {
      expect(failed(4, { status: 429, retryAfter: "120" })).toEqual({ kind: "failed", disableWebhook: "failures" });
    });
  });
});
