import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { advanceTat, rateAllowance, rateLimitError } from "../../src/domain/rate-limit.js";
import { worstWindow } from "../helpers/rate-window.js";

describe("rate limit arithmetic", () => {
  it("never lets more than per_second × t + max(1, per_second) start in any t seconds, whenever the claims come", () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.01, max: 1000, noNaN: true }),
        fc.array(fc.integer({ min: 0, max: 3000 }), { minLength: 1, maxLength: 60 }),
        fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 60, maxLength: 60 }),
        (perSecond, gaps, wants) => {
          let now = 1_000_000;
          let tat: number | null = null;
          const starts: number[] = [];
          gaps.forEach((gap, i) => {
            now += gap;
            const { free } = rateAllowance(perSecond, tat, now);
            const n = Math.min(free, wants[i]);
            if (n === 0) return;
            tat = advanceTat(perSecond, tat, now, n);
            for (let k = 0; k < n; k++) starts.push(now);
          });
          const w = worstWindow(starts, perSecond);
          expect(w.count).toBeLessThanOrEqual(w.allowed + 1e-9);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it("allows the full rate when claims come whenever a start is allowed", () => {
    let now = 0;
    let tat: number | null = null;
    let starts = 0;
    while (now < 10_000) {
      const { free, nextAt } = rateAllowance(5, tat, now);
      if (free > 0) {
        tat = advanceTat(5, tat, now, free);
        starts += free;
      } else now = nextAt!;
    }
    // 5 at once, then 5 per second for 10 s.
    expect(starts).toBeGreaterThanOrEqual(5 + 50 - 1);
    expect(starts).toBeLessThanOrEqual(5 + 50 + 1);
  });

  it("says when the next start is allowed", () => {
    const tat = advanceTat(2, null, 0, 2); // a burst of 2 at 2/s
    expect(rateAllowance(2, tat, 0)).toEqual({ free: 0, nextAt: 500 });
    expect(rateAllowance(2, tat, 500).free).toBe(1);
    expect(rateAllowance(0.5, advanceTat(0.5, null, 0, 1), 1000)).toEqual({ free: 0, nextAt: 2000 });
  });

  it("checks per_second and names the path", () => {
    expect(rateLimitError({ per_second: 5 })).toBeNull();
    expect(rateLimitError({ per_second: 0 })?.field).toBe("rate_limit.per_second");
    expect(rateLimitError({ per_second: 1001 })?.field).toBe("rate_limit.per_second");
    expect(rateLimitError({ per_second: "5" })?.field).toBe("rate_limit.per_second");
    expect(rateLimitError({ per_second: 5, burst: 3 })?.field).toBe("rate_limit.burst");
    expect(rateLimitError(5)?.field).toBe("rate_limit");
  });
});
