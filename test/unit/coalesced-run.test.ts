/** The coalesced run (src/lib/coalesced-run.ts): once however often asked, once more if asked during a run, never two at once. */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { CoalescedRun } from "../../src/lib/coalesced-run.js";

/** A task whose runs finish when the test says so. */
function gatedTask() {
  const gates: Array<() => void> = [];
  let active = 0;
  let overlapped = false;
  const task = vi.fn(async () => {
    active++;
    if (active > 1) overlapped = true;
    await new Promise<void>((resolve) => gates.push(resolve));
    active--;
  });
  return { task, finish: () => gates.shift()!(), overlapped: () => overlapped };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("CoalescedRun", () => {
  it('"now": starts within request(); requests during the run share one more run after it', async () => {
    const { task, finish, overlapped } = gatedTask();
    const run = new CoalescedRun(task);
    const first = run.request();
    expect(task).toHaveBeenCalledTimes(1);
    const second = run.request();
    const third = run.request();
    expect(second).toBe(third);
    expect(task).toHaveBeenCalledTimes(1);
    finish();
    await first;
    await vi.advanceTimersByTimeAsync(0);
    expect(task).toHaveBeenCalledTimes(2);
    finish();
    await second;
    expect(overlapped()).toBe(false);
  });

  it('"soon": every request of one turn shares a run that starts on the next turn', async () => {
    const task = vi.fn(async () => {});
    const run = new CoalescedRun(task, { start: "soon" });
    const asked = [run.request(), run.request(), run.request()];
    expect(task).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(0);
    await Promise.all(asked);
    expect(task).toHaveBeenCalledTimes(1);
    const later = run.request();
    await vi.advanceTimersByTimeAsync(0);
    await later;
    expect(task).toHaveBeenCalledTimes(2);
  });

  it("a request made by the task itself runs after it, not inside it", async () => {
    let calls = 0;
    let nested = false;
    let inside = false;
    const run: CoalescedRun = new CoalescedRun(async () => {
      if (inside) nested = true;
      inside = true;
      if (++calls === 1) void run.request();
      inside = false;
    });
    await run.request();
    await run.close();
    expect(calls).toBe(2);
    expect(nested).toBe(false);
  });

  it("rejects the waiting callers with the run's error; an unwaited failure is not an unhandled rejection; the next run goes ahead", async () => {
    let fail = true;
    let runs = 0;
    const run = new CoalescedRun(async () => {
      runs++;
      if (fail) throw new Error("database gone");
    });
    await expect(run.request()).rejects.toThrow("database gone");
    void run.request(); // nobody waits for this failure: vitest fails the file on an unhandled rejection
    await vi.waitFor(() => expect(runs).toBe(2));
    await vi.advanceTimersByTimeAsync(0);
    fail = false;
    await expect(run.request()).resolves.toBeUndefined();
  });

  it("close() waits for the run in progress and the one asked for during it, then runs nothing", async () => {
    const { task, finish } = gatedTask();
    const run = new CoalescedRun(task);
    void run.request();
    void run.request();
    let idle = false;
    const closed = run.close().then(() => (idle = true));
    await vi.advanceTimersByTimeAsync(0);
    expect(idle).toBe(false);
    finish();
    await vi.advanceTimersByTimeAsync(0);
    expect(idle).toBe(false);
    expect(task).toHaveBeenCalledTimes(2);
    finish();
    await closed;
    await run.request();
    expect(task).toHaveBeenCalledTimes(2);
  });
});
