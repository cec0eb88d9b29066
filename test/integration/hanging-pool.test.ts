/**
 * More endpoints hang than a worker has slots: after their first attempts time out, webhooks whose
 * attempts time out may hold only part of the pool (delivery/worker.ts SUSPECT_SHARE, each at a
 * lowered in-flight limit), so a healthy webhook's deliveries keep arriving while every hanging
 * webhook still has a backlog.
 * Twice: every webhook on an origin of its own, and every webhook (hanging and healthy) on one
 * origin, differing only by path. There the hanging webhooks' share of the slots (20) is more than
 * one connection pool per origin held (16): the healthy webhook's attempts must not wait for them.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DIALECTS } from "../helpers/databases.js";
import { startHookline, type TestHookline } from "../helpers/hookline.js";
import { startReceiver, type Receiver } from "../helpers/receiver.js";
import { SHARED_ORIGIN } from "./support/hookline-with-receivers.js";

/**
 * Shared origin: 40 hanging webhooks, at the lowered limit of 1 each, fill their 40 slots, 24 more
 * attempts than one connection pool per origin held (16). A healthy attempt queued behind those 24
 * waited for the staggered time-outs ahead of it (0.6–1 s measured): the bound there is a quarter of
 * the 2 s timeout.
 */
const LAYOUTS = [
  { layout: "own origins", hanging: 6, pool: 4, cap: 2, backlog: 5, timeout: 800, bound: 800 },
  { layout: "one shared origin", hanging: 40, pool: 80, cap: 2, backlog: 10, timeout: 2000, bound: 500 },
];

describe.each(DIALECTS.flatMap((dialect) => LAYOUTS.map((l) => ({ dialect, ...l }))))(
  "a worker pool with more hanging endpoints than slots ($dialect, $layout)",
  ({ dialect, layout, hanging: HANGING, pool, cap, backlog, timeout: TIMEOUT, bound }) => {
    let hl: TestHookline;
    let hanging: Receiver;
    let healthy: Receiver;

    beforeAll(async () => {
      const shared = layout === "one shared origin";
      hanging = await startReceiver(shared ? SHARED_ORIGIN : { respond: { hang: true } });
      healthy = shared ? hanging : await startReceiver();
      hl = await startHookline({
        dialect,
        worker: true,
        ca: [hanging.ca, healthy.ca],
        pollIntervalMs: 100,
        env: {
          HOOKLINE_CONCURRENCY: String(pool),
          HOOKLINE_WEBHOOK_CONCURRENCY: String(cap),
          HOOKLINE_TIMEOUT_MS: String(TIMEOUT),
          HOOKLINE_RETRY_DELAYS: "60",
        },
      });
      // Each hanging webhook in a project of its own (many tenants, one bad endpoint each).
      for (let i = 0; i < HANGING; i++) {
        await hl.project(`t${i}`);
        const url = `${hanging.url}/hang/h${i}`;
        expect((await hl.api("POST", `/api/v1/projects/t${i}/webhooks`, { name: "hang", events: ["issue.created"], url })).status).toBe(201);
      }
      await hl.project("good");
      expect((await hl.api("POST", "/api/v1/projects/good/webhooks", { name: "ok", events: ["issue.created"], url: `${healthy.url}/ok` })).status).toBe(201);
    });
    afterAll(async () => {
      await hl?.close();
      await hanging?.close();
      if (healthy !== hanging) await healthy?.close();
    });

    const hangs = () => hanging.requests.filter((r) => r.path.startsWith("/hang"));
    const oks = () => healthy.requests.filter((r) => r.path === "/ok");

    it("keeps delivering to the healthy webhook once the hanging ones have timed out", async () => {
      // Every hanging webhook gets a backlog first: together they could fill the pool many times over.
      for (let i = 0; i < HANGING; i++) {
        for (let e = 0; e < backlog; e++) {
          expect((await hl.api("POST", `/api/v1/projects/t${i}/events`, { event: "issue.created", subject: { e } })).status).toBe(202);
        }
      }
      // Their first attempts time out...
      const deadline = Date.now() + 10_000;
      while (hangs().length < pool && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
      expect(hangs().length).toBeGreaterThanOrEqual(pool);
      await new Promise((r) => setTimeout(r, TIMEOUT * 2));
      // ...after which a healthy delivery takes no more than an ordinary attempt, again and again,
      // while the hanging webhooks still have most of their backlog.
      for (let e = 0; e < 5; e++) {
        const started = Date.now();
        expect((await hl.api("POST", "/api/v1/projects/good/events", { event: "issue.created", subject: { e } })).status).toBe(202);
        const deadline = Date.now() + TIMEOUT * 3;
        while (oks().length < e + 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
        expect(oks().length, `healthy delivery ${e} arrived`).toBe(e + 1);
        const took = oks()[e].receivedAt.getTime() - started;
        console.log(`hanging pool (${dialect}, ${layout}): healthy delivery ${e} after ${took} ms (bound ${bound} ms, timeout ${TIMEOUT} ms)`);
        expect(took, `healthy delivery ${e}`).toBeLessThan(bound);
      }
      expect(hangs().length).toBeLessThan(HANGING * backlog);
    });
  },
);
