/** Capped exponential backoff (src/lib/backoff.ts). */
import { afterEach, describe, expect, it, vi } from "vitest";
import { Backoff } from "../../src/lib/backoff.js";

afterEach(() => {
  vi.useRealTimers();
});

describe("Backoff", () => {
  it("doubles from minMs per failure, stops at maxMs, and starts over after a success", () => {
    const b = new Backoff({ minMs: 100, maxMs: 5000 });
    expect(Array.from({ length: 9 }, () => b.fail())).toEqual([100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
    expect(b.failures).toBe(9);
    b.reset();
    expect(b.failures).toBe(0);
    expect(b.fail()).toBe(100);
  });

  it("stays at maxMs however many failures there were", () => {
    const b = new Backoff({ minMs: 100, maxMs: 5000 });
    for (let i = 0; i < 2000; i++) b.fail();
    expect(b.fail()).toBe(5000);
  });

  it("with jitter waits 50–100 % of the step", () => {
    const low = new Backoff({ minMs: 100, maxMs: 5000, jitter: true, random: () => 0 });
    expect([low.fail(), low.fail(), low.fail()]).toEqual([50, 100, 200]);
    const high = new Backoff({ minMs: 100, maxMs: 5000, jitter: true, random: () => 0.999999 });
    expect([high.fail(), high.fail(), high.fail()]).toEqual([100, 200, 400]);
  });

  it("waitAfterFailure() waits the step it counts", async () => {
    vi.useFakeTimers();
    const b = new Backoff({ minMs: 100, maxMs: 5000 });
    b.fail();
    let done = false;
    const waiting = b.waitAfterFailure().then(() => (done = true));
    await vi.advanceTimersByTimeAsync(199);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await waiting;
    expect(done).toBe(true);
    expect(b.failures).toBe(2);
  });
});
