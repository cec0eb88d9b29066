import { describe, expect, it } from "vitest";
import { nextInflightLimit } from "../../src/domain/inflight-limit.js";

const timeout = { success: false, timedOut: true };
const ok = { success: true, timedOut: false };
const refused = { success: false, timedOut: false };

describe("a webhook's in-flight limit", () => {
  it("is the setting (null) until an attempt times out, then halves per time-out down to one", () => {
    expect(nextInflightLimit(null, 16, [ok, refused])).toBeNull();
    expect(nextInflightLimit(null, 16, [timeout])).toBe(8);
    expect(nextInflightLimit(null, 16, [timeout, timeout, timeout])).toBe(2);
    expect(nextInflightLimit(2, 16, [timeout, timeout, timeout])).toBe(1);
  });
  it("comes back by one per success, and is dropped once it reaches the setting", () => {
    expect(nextInflightLimit(1, 4, [ok])).toBe(2);
    expect(nextInflightLimit(2, 4, [ok, ok])).toBeNull();
    expect(nextInflightLimit(3, 4, [refused])).toBe(3); // quick failures hold no slot long: unchanged
  });
  it("never exceeds a lowered setting", () => {
    expect(nextInflightLimit(8, 4, [])).toBeNull();
    expect(nextInflightLimit(8, 4, [timeout])).toBe(2);
    expect(nextInflightLimit(null, 1, [timeout])).toBe(1);
  });
});
