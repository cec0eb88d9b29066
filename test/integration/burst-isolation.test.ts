/**
 * Isolation under a burst: hanging endpoints (TLS accepted, request read, never answered) must not
 * delay a healthy webhook's deliveries, however many events arrive at once and however many of a
 * project's webhooks hang. Every healthy delivery must arrive well before the hanging attempts time
 * out (here within 60 % of HOOKLINE_TIMEOUT_MS, measured from the start of the burst).
 * - 1 hanging + 1 healthy webhook, 30 events at once; 4 hanging + 1 healthy, 60 events at once.
 * - More hanging endpoints than the worker has slots (12 projects with a hanging webhook each,
 *   HOOKLINE_CONCURRENCY=8): once every one of them has had an attempt time out, a burst to a
 *   healthy project still arrives well before the next wave of time-outs.
 * Each case logs its measured figure (slowest healthy arrival after the burst began).
 */
import { describe, expect, it } from "vitest";
import { DIALECTS } from "../helpers/databases.js";
import type { TestHookline } from "../helpers/hookline.js";
import type { Receiver } from "../helpers/receiver.js";
import { hooklineWithReceivers } from "./support/hookline-with-receivers.js";
import { eventually, sleep } from "../helpers/wait.js";

const TIMEOUT_MS = 5000;
/** Healthy deliveries must all arrive within this much of the burst's start. */
const BOUND_MS = TIMEOUT_MS * 0.6;
const EVENT = "test-run.completed";

describe.each(DIALECTS)("burst isolation (%s)", (dialect) => {
  const startWith = hooklineWithReceivers(dialect);
  let hl: TestHookline;

  async function start(env: Record<string, string>, hanging: number): Promise<{ healthy: Receiver; hangs: Receiver[] }> {
    const started = await startWith([{}, ...Array.from({ length: hanging }, () => ({ respond: { hang: true } }))], {
      worker: true,
      pollIntervalMs: 500, // the shipped default (the helper's 100 ms would paper over a claim that misses due work)
      // Retries far away: only first attempts are in play.
      env: { HOOKLINE_TIMEOUT_MS: String(TIMEOUT_MS), HOOKLINE_RETRY_DELAYS: "60,60,60", ...env },
    });
    hl = started.hl;
    const [healthy, ...hangs] = started.receivers;
    return { healthy, hangs };
  }

  async function hook(project: string, url: string): Promise<void> {
    const res = await hl.api("POST", `/api/v1/projects/${project}/webhooks`, { name: url, events: [EVENT], url });
    expect(res.status).toBe(201);
  }

  /** Publishes `count` events to each project at once (interleaved); answers when the burst began. */
  async function burst(projects: string[], count: number): Promise<number> {
    const began = Date.now();
    const calls = [];
    for (let i = 0; i < count; i++) {
      for (const p of projects) calls.push(hl.api("POST", `/api/v1/projects/${p}/events`, { event: EVENT, subject: { n: i } }));
    }
    for (const res of await Promise.all(calls)) expect(res.status).toBe(202);
    return began;
  }

  /** Waits for `count` healthy deliveries; answers the slowest one's delay after `began`, in ms. */
  async function slowestArrival(healthy: Receiver, count: number, began: number): Promise<number> {
    const got = await healthy.waitFor(count, TIMEOUT_MS * 4);
    return Math.max(...got.slice(0, count).map((r) => r.receivedAt.getTime() - began));
  }

  it.each([
    { hanging: 1, events: 30 },
    { hanging: 4, events: 60 },
  ])("$hanging hanging webhook(s) and one healthy, $events events at once: healthy deliveries arrive before the time-outs", async ({ hanging, events }) => {
    const { healthy, hangs } = await start({}, hanging);
    await hl.project("burst");
    for (const h of hangs) await hook("burst", `${h.url}/hang`);
    await hook("burst", `${healthy.url}/ok`);

    const began = await burst(["burst"], events);
    const slowest = await slowestArrival(healthy, events, began);
    console.log(
      `burst isolation (${dialect}, ${hanging} hanging, ${events} events): slowest healthy arrival ${slowest} ms (bound ${BOUND_MS} ms, timeout ${TIMEOUT_MS} ms)`,
    );
    expect(healthy.requests.length).toBe(events);
    expect(slowest).toBeLessThan(BOUND_MS);
    // The hanging endpoints were really being tried meanwhile.
    expect(hangs.reduce((n, h) => n + h.requests.length, 0)).toBeGreaterThan(0);
  });

  it("more hanging endpoints than worker slots (12 projects × 1 hanging webhook, concurrency 8): a healthy burst still arrives before the time-outs", async () => {
    const { healthy, hangs } = await start({ HOOKLINE_CONCURRENCY: "8" }, 12);
    const hangProjects = hangs.map((_, i) => `hang${i}`);
    for (const [i, h] of hangs.entries()) {
      await hl.project(hangProjects[i]);
      await hook(hangProjects[i], `${h.url}/hang`);
    }
    await hl.project("calm");
    await hook("calm", `${healthy.url}/ok`);

    // A backlog for every hanging endpoint. No design can tell a hanging endpoint before its first
    // attempt times out, and 8 slots take 12 first attempts in two waves: wait until every hanging
    // endpoint has had an attempt, and that attempt has timed out.
    await burst(hangProjects, 8);
    await eventually(() => hangs.every((h) => h.requests.length > 0), TIMEOUT_MS * 4, "an attempt at every hanging endpoint");
    await sleep(TIMEOUT_MS + 750);
    const hungBefore = hangs.reduce((n, h) => n + h.requests.length, 0);
    expect(hungBefore).toBeGreaterThan(0);

    const began = await burst(["calm"], 30);
    const slowest = await slowestArrival(healthy, 30, began);
    console.log(
      `burst isolation (${dialect}, 12 hanging endpoints > 8 slots): slowest healthy arrival ${slowest} ms (bound ${BOUND_MS} ms); hanging attempts so far ${hangs.reduce((n, h) => n + h.requests.length, 0)}`,
    );
    expect(slowest).toBeLessThan(BOUND_MS);
  });
});
