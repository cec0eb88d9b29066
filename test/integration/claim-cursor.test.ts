/**
 * The worker's claim cursor (delivery/worker.ts): quick claims skip the due rows before the oldest
 * row the last claim could take (leased, or of a webhook at its cap), and the cursor goes back to the
 * oldest row as soon as a webhook at its cap frees a slot, so that webhook's older rows are not left
 * behind until the next full pass. Full passes are made rare here (60 s) so only the reset can save them.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DIALECTS } from "../helpers/databases.js";
import { startHookline, type TestHookline } from "../helpers/hookline.js";
import { startReceiver, type Receiver } from "../helpers/receiver.js";

describe.each(DIALECTS)("claim cursor (%s)", (dialect) => {
  let hl: TestHookline;
  let fast: Receiver;
  let slow: Receiver;
  let offset = 0;

  beforeAll(async () => {
    fast = await startReceiver();
    slow = await startReceiver();
    hl = await startHookline({
      dialect,
      worker: true,
      ca: [fast.ca, slow.ca],
      now: () => Date.now() + offset,
      pollIntervalMs: 60_000,
      env: { HOOKLINE_WEBHOOK_CONCURRENCY: "1" },
    });
    await hl.project("p");
  });
  afterAll(async () => {
    await hl?.close();
    await fast?.close();
    await slow?.close();
  });

  it("delivers a webhook's older rows once it frees a slot, though later claims started past them", async () => {
    slow.respondWith({ status: 200, delayMs: 300 });
    for (const [name, rx] of [["slow", slow], ["fast", fast]] as const) {
      const res = await hl.api("POST", "/api/v1/projects/p/webhooks", { name, events: ["issue.created"], url: rx.url });
      expect(res.status).toBe(201);
    }
    const publish = async (i: number) => expect((await hl.api("POST", "/api/v1/projects/p/events", { event: "issue.created", subject: { i } })).status).toBe(202);
    // Three events at once: the slow webhook (one attempt at a time) keeps two of them queued.
    for (let i = 0; i < 3; i++) await publish(i);
    await fast.waitFor(3, 5000);
    // Three seconds later (clock moved, less than a lease): this claim takes the fast webhook's row and
    // sets the cursor past the slow webhook's queued rows.
    offset += 3000;
    await publish(3);
    await fast.waitFor(4, 5000);
    // Every slow delivery arrives, one at a time, without waiting for a full pass.
    await slow.waitFor(4, 5000);
    expect(slow.requests.map((r) => JSON.parse(r.body).subject.i).sort()).toEqual([0, 1, 2, 3]);
  });
});
