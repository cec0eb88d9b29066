import { describe, expect, it } from "vitest";
import { WebhookLimits } from "../../src/delivery/webhook-limits.js";

const timeout = { success: false, timedOut: true };
const ok = { success: true, timedOut: false };
const refused = { success: false, timedOut: false };

describe("per-webhook in-flight limits", () => {
  it("starts every webhook at the setting", () => {
    expect(new WebhookLimits(16).of("w1")).toBe(16);
  });

  it("halves a webhook's limit at each timed-out attempt, down to one", () => {
    const limits = new WebhookLimits(16);
    const seen = [];
    for (let i = 0; i < 6; i++) {
      limits.onAttempt("w1", timeout);
      seen.push(limits.of("w1"));
    }
    expect(seen).toEqual([8, 4, 2, 1, 1, 1]);
    expect(limits.of("w2")).toBe(16); // other webhooks are not affected
  });

  it("gives one slot back per successful attempt, up to the setting, and then forgets the webhook", () => {
    const limits = new WebhookLimits(4);
    limits.onAttempt("w1", timeout);
    limits.onAttempt("w1", timeout);
    expect(limits.of("w1")).toBe(1);
    limits.onAttempt("w1", ok);
    expect(limits.of("w1")).toBe(2);
    limits.onAttempt("w1", ok);
    limits.onAttempt("w1", ok);
    limits.onAttempt("w1", ok);
    expect(limits.of("w1")).toBe(4);
    expect([...limits.entries()]).toEqual([]);
  });

  it("leaves the limit alone for failures that end quickly", () => {
    const limits = new WebhookLimits(16);
    limits.onAttempt("w1", refused);
    expect(limits.of("w1")).toBe(16);
    limits.onAttempt("w1", timeout);
    limits.onAttempt("w1", refused);
    expect(limits.of("w1")).toBe(8);
  });

  it("keeps a setting of one at one", () => {
    const limits = new WebhookLimits(1);
    limits.onAttempt("w1", timeout);
    expect(limits.of("w1")).toBe(1);
    expect([...limits.entries()]).toEqual([]);
  });
});
