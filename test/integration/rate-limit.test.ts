/**
 * Rate limits (docs/delivery-policies.md): a webhook's attempt starts, retries included, stay within
 * per_second × t + max(1, per_second) in any window; nothing is dropped; another webhook of the same
 * project keeps its pace meanwhile; the worker wakes for the next slot instead of its poll.
 * Starts are counted on the clock the limit is kept by: the `now` of the claim that leased each
 * attempt (domain/rate-limit.ts), recorded by wrapping the claim. The attempt's logged start comes
 * after that claim's round trip, which on a loaded machine varies by more than any fixed slack.
 * (Three worker processes on PostgreSQL: rate-limit.serial.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { DIALECTS } from "../helpers/databases.js";
import { startHookline, type TestHookline } from "../helpers/hookline.js";
import { worstWindow } from "../helpers/rate-window.js";
import { startReceiver, type Receiver } from "../helpers/receiver.js";
import { eventually } from "../helpers/wait.js";

/** Every lease the worker's claims made: delivery id and attempt number → the claim's `now`. */
const claimedAt = vi.hoisted(() => new Map<string, number>());
vi.mock("../../src/store/queue/claim.js", async (importOriginal) => {
  const original = await importOriginal<typeof import("../../src/store/queue/claim.js")>();
  return {
    ...original,
    claimDeliveries: async (...args: Parameters<typeof original.claimDeliveries>) => {
      const result = await original.claimDeliveries(...args);
      for (const d of result.claimed) claimedAt.set(`${d.id}/${d.attempts + 1}`, args[1].now);
      return result;
    },
  };
});

const RATE = 5;
const EVENTS = 30;

describe.each(DIALECTS)("rate limit (%s)", (dialect) => {
  let hl: TestHookline;
  let rx: Receiver;
  let hits = 0;

  beforeAll(async () => {
    rx = await startReceiver({
      // Every fourth request to the limited webhook fails once: its retry counts against the limit too.
      respond: (req) => (req.path === "/limited" && ++hits % 4 === 0 ? { status: 500 } : { status: 200 }),
    });
    // A slow poll (2 s): the limited webhook keeps its pace only if the worker wakes for each slot.
    hl = await startHookline({ dialect, worker: true, ca: rx.ca, pollIntervalMs: 2000, env: { HOOKLINE_RETRY_DELAYS: "0.05,0.05,0.05" } });
    await hl.project("rl");
  });
  afterAll(async () => {
    await hl?.close();
    await rx?.close();
  });

  it(`${RATE}/s: starts stay within ${RATE}t + ${RATE} in every window, use the rate, drop nothing; the other webhook is not held up`, async () => {
    const create = (name: string, extra: Record<string, unknown>) =>
      hl.api("POST", "/api/v1/projects/rl/webhooks", { name, events: ["test-run.completed"], url: `${rx.url}/${name}`, ...extra });
    const limited = await create("limited", { rate_limit: { per_second: RATE } });
    expect(limited.status).toBe(201);
    expect(limited.body.rate_limit).toEqual({ per_second: RATE });
    await create("free", {});
    const started = Date.now();
    await Promise.all(Array.from({ length: EVENTS }, (_, n) => hl.api("POST", "/api/v1/projects/rl/events", { event: "test-run.completed", subject: { n } })));
    // The unlimited webhook's 30 go at once, not at the limited one's pace (which needs at least 5 s for 30).
    await eventually(() => rx.requests.filter((r) => r.path === "/free").length === EVENTS, 5000, "free webhook's deliveries");
    const freeDone = Date.now() - started;
    expect(freeDone).toBeLessThan(4000);
    // Every delivery succeeded in the end (the failed ones by a retry, made at the same pace).
    const logs = await eventually(
      async () => {
        const res = await hl.api("GET", `/api/v1/projects/rl/webhooks/${limited.body.id}/logs?limit=100`);
        const data = res.body.data as { created_at: string; delivery_id: string; attempt: number; success: boolean }[];
        return data.filter((l) => l.success).length === EVENTS && data;
      },
      30_000,
      "every limited delivery",
    );
    expect(logs.some((l) => l.attempt > 1)).toBe(true); // retries were made, and counted below
    // Each logged attempt was leased by a claim, and began after it: the claim's `now` is its start
    // on the limit's clock, where the bound holds exactly (no slack).
    const starts = logs.map((l) => claimedAt.get(`${l.delivery_id}/${l.attempt}`));
    expect(starts.filter((at) => at === undefined)).toEqual([]);
    const lag = logs.map((l, i) => Date.parse(l.created_at) - starts[i]!);
    expect(Math.min(...lag)).toBeGreaterThanOrEqual(0);
    const w = worstWindow(starts as number[], RATE);
    const span = (Math.max(...(starts as number[])) - Math.min(...(starts as number[]))) / 1000;
    const used = (starts.length - RATE) / (RATE * span);
    console.log(
      `${dialect}: ${starts.length} starts in ${span.toFixed(2)} s; worst window ${w.count} starts in ${w.seconds.toFixed(2)} s (allowed ${w.allowed.toFixed(2)}); steady rate used ${(used * 100).toFixed(0)} %; claim to logged start up to ${Math.max(...lag)} ms; free webhook done in ${freeDone} ms`,
    );
    expect(w.count).toBeLessThanOrEqual(w.allowed);
    expect(used).toBeGreaterThanOrEqual(0.9);
  }, 60_000);
});
