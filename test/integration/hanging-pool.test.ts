/**
 * More endpoints hang than a worker has slots: after their first attempts time out, webhooks whose
 * attempts time out may hold only part of the pool (delivery/worker.ts SUSPECT_SHARE, each at a
 * lowered in-flight limit), so a healthy webhook's deliveries keep arriving while every hanging
 * webhook still has a backlog.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DIALECTS } from "../helpers/databases.js";
import { startHookline, type TestHookline } from "../helpers/hookline.js";
import { startReceiver, type Receiver } from "../helpers/receiver.js";

const TIMEOUT = 800;
const POOL = 4;
const HANGING = 6;

describe.each(DIALECTS)("a worker pool with more hanging endpoints than slots (%s)", (dialect) => {
  let hl: TestHookline;
  let hanging: Receiver;
  let healthy: Receiver;

  beforeAll(async () => {
    hanging = await startReceiver({ respond: { hang: true } });
    healthy = await startReceiver();
    hl = await startHookline({
      dialect,
      worker: true,
      ca: [hanging.ca, healthy.ca],
      pollIntervalMs: 100,
      env: { HOOKLINE_CONCURRENCY: String(POOL), HOOKLINE_WEBHOOK_CONCURRENCY: "2", HOOKLINE_TIMEOUT_MS: String(TIMEOUT), HOOKLINE_RETRY_DELAYS: "60" },
    });
    // Each hanging webhook in a project of its own (many tenants, one bad endpoint each).
    for (let i = 0; i < HANGING; i++) {
      await hl.project(`t${i}`);
      expect((await hl.api("POST", `/api/v1/projects/t${i}/webhooks`, { name: "hang", events: ["issue.created"], url: `${hanging.url}/h${i}` })).status).toBe(
        201,
      );
    }
    await hl.project("good");
    expect((await hl.api("POST", "/api/v1/projects/good/webhooks", { name: "ok", events: ["issue.created"], url: healthy.url })).status).toBe(201);
  });
  afterAll(async () => {
    await hl?.close();
    await hanging?.close();
    await healthy?.close();
  });

  it("keeps delivering to the healthy webhook once the hanging ones have timed out", async () => {
    // Every hanging webhook gets a backlog first: together they could fill the pool many times over.
    for (let i = 0; i < HANGING; i++) {
      for (let e = 0; e < 5; e++) expect((await hl.api("POST", `/api/v1/projects/t${i}/events`, { event: "issue.created", subject: { e } })).status).toBe(202);
    }
    // Their first attempts time out...
    await hanging.waitFor(POOL, 5_000);
    await new Promise((r) => setTimeout(r, TIMEOUT * 2));
    // ...after which a healthy delivery takes no more than an ordinary attempt, again and again,
    // while the hanging webhooks still have most of their backlog.
    for (let e = 0; e < 5; e++) {
      const started = Date.now();
      expect((await hl.api("POST", "/api/v1/projects/good/events", { event: "issue.created", subject: { e } })).status).toBe(202);
      await healthy.waitFor(e + 1, TIMEOUT * 3);
      expect(Date.now() - started, `healthy delivery ${e}`).toBeLessThan(TIMEOUT);
    }
    expect(hanging.requests.length).toBeLessThan(HANGING * 5);
  });
});
