/**
 * Answers that change the schedule (Retry-After on 429/503, 410 Gone) and Recover, on both stores,
 * against a real TLS receiver.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../src/domain/ids.js";
import { DIALECTS } from "../helpers/databases.js";
import { startHookline, type TestHookline } from "../helpers/hookline.js";
import { startReceiver, type Receiver, type Reply } from "../helpers/receiver.js";
import { expectError, expectValidation, until } from "./support/api.js";

describe.each(DIALECTS)("answers that change the schedule, and recover (%s)", (dialect) => {
  let hl: TestHookline;
  let rx: Receiver;
  /** Per path, the answers to give in turn (the last one repeats). */
  const script = new Map<string, Reply[]>();
  let n = 0;

  beforeAll(async () => {
    rx = await startReceiver({
      respond: (req) => {
        const list = script.get(req.path) ?? [{ status: 200 }];
        return list.length > 1 ? list.shift()! : list[0];
      },
    });
    hl = await startHookline({ dialect, worker: true, ca: rx.ca, env: { HOOKLINE_RETRY_DELAYS: "0.1,0.2,0.3" } });
  });
  afterAll(async () => {
    await hl?.close();
    await rx?.close();
  });

  const fresh = async (answers: Reply[] = [{ status: 200 }], events = ["issue.created"]) => {
    const p = `ar${++n}`;
    await hl.project(p);
    const path = `/${p}`;
    script.set(path, [...answers]);
    const hook = (await hl.api("POST", `/api/v1/projects/${p}/webhooks`, { name: "h", events, url: `${rx.url}${path}` })).body;
    return { p, path, id: hook.id as string, base: `/api/v1/projects/${p}/webhooks/${hook.id}` };
  };
  const publish = async (p: string, event = "issue.created", subject: unknown = {}) =>
    (await hl.api("POST", `/api/v1/projects/${p}/events`, { event, subject })).body.id as string;
  const sent = (path: string) => rx.requests.filter((r) => r.path === path);
  const db = () => hl.runtime.ctx.store.db;

  describe("Retry-After", () => {
    it("a 429 with Retry-After: 2 is retried no sooner than 2 s later, and adds no attempt", async () => {
      const w = await fresh([{ status: 429, headers: { "retry-after": "2" } }, { status: 200 }]);
      await publish(w.p);
      const [first, second] = await until(async () => sent(w.path).length >= 2 && sent(w.path), 10_000);
      expect(second.receivedAt.getTime() - first.receivedAt.getTime()).toBeGreaterThanOrEqual(2000);
      expect(second.headers["hookline-attempt"]).toBe("2");
      const d = await until(async () => {
        const row = await db().selectFrom("deliveries").select(["status", "attempts", "max_attempts"]).where("webhook_id", "=", w.id).executeTakeFirst();
        return row?.status === "succeeded" && row;
      });
      expect(d).toMatchObject({ attempts: 2, max_attempts: 4 });
    });

    it("a 503 with an HTTP date waits until then; garbage, a past date or another status keep the normal schedule", async () => {
      const at = new Date(Date.now() + 2500);
      at.setMilliseconds(0);
      const dated = await fresh([{ status: 503, headers: { "retry-after": at.toUTCString() } }, { status: 200 }]);
      await publish(dated.p);
      const [, retry] = await until(async () => sent(dated.path).length >= 2 && sent(dated.path), 10_000);
      expect(retry.receivedAt.getTime()).toBeGreaterThanOrEqual(at.getTime() - 1000); // the header has whole seconds

      for (const header of ["soon", new Date(Date.now() - 60_000).toUTCString(), "-3"]) {
        const w = await fresh([{ status: 503, headers: { "retry-after": header } }, { status: 200 }]);
        await publish(w.p);
        const [a, b] = await until(async () => sent(w.path).length >= 2 && sent(w.path), 10_000);
        expect(b.receivedAt.getTime() - a.receivedAt.getTime(), header).toBeLessThan(1500);
      }
      const other = await fresh([{ status: 500, headers: { "retry-after": "30" } }, { status: 200 }]);
      await publish(other.p);
      const [a, b] = await until(async () => sent(other.path).length >= 2 && sent(other.path), 10_000);
      expect(b.receivedAt.getTime() - a.receivedAt.getTime()).toBeLessThan(1500);
    });

    it("a huge Retry-After is capped at an hour", async () => {
      const w = await fresh([{ status: 429, headers: { "retry-after": "999999" } }]);
      const before = Date.now();
      await publish(w.p);
      const row = await until(async () => {
        const r = await db().selectFrom("deliveries").select(["attempts", "run_at"]).where("webhook_id", "=", w.id).executeTakeFirst();
        return r && r.attempts === 1 && r;
      });
      expect(Number(row.run_at) - before).toBeGreaterThan(3500_000);
      expect(Number(row.run_at) - Date.now()).toBeLessThanOrEqual(3600_000);
    });
  });

  describe("410 Gone", () => {
    it("fails the delivery at once, disables the webhook (gone), cancels its queue and notifies", async () => {
      const w = await fresh([{ status: 410 }]);
      await publish(w.p);
      const hook = await until(async () => {
        const h = (await hl.api("GET", w.base)).body;
        return h.enabled === false && h;
      });
      expect(hook.disabled_reason).toBe("gone");
      expect(sent(w.path)).toHaveLength(1);
      const d = await db().selectFrom("deliveries").select(["status", "attempts"]).where("webhook_id", "=", w.id).execute();
      expect(d).toEqual([{ status: "failed", attempts: 1 }]);
      const notes = (await hl.api("GET", `/api/v1/projects/${w.p}/notifications`)).body.data;
      expect(notes).toHaveLength(1);
      expect(notes[0]).toMatchObject({ kind: "webhook.disabled", webhook_id: w.id });
      expect(notes[0].message).toMatch(/410/);
    });

    it("a Test or Redeliver answered 410 disables nothing", async () => {
      const w = await fresh([{ status: 410 }]);
      expect((await hl.api("POST", `${w.base}/test`)).status).toBe(202);
      await until(async () => (await hl.api("GET", `${w.base}/logs`)).body.data.length === 1);
      expect((await hl.api("GET", w.base)).body).toMatchObject({ enabled: true, disabled_reason: null });
    });
  });

  describe("recover", () => {
    it("queues exactly the missing events once, oldest first, with trigger recover", async () => {
      const w = await fresh([{ status: 200 }], ["issue.created", "risk.created"]);
      const ok = await publish(w.p, "issue.created", { n: "ok" });
      await until(async () => sent(w.path).length === 1);
      // Disabled: these are skipped.
      await hl.api("PATCH", w.base, { enabled: false });
      const skipped1 = await publish(w.p, "issue.created", { n: "s1" });
      const skipped2 = await publish(w.p, "risk.created", { n: "s2" });
      const unsubscribed = await publish(w.p, "milestone.created", { n: "u" });
      await hl.api("PATCH", w.base, { enabled: true });
      const since = new Date(Date.now() - 60_000).toISOString();
      const res = await hl.api("POST", `${w.base}/recover`, { since });
      expect(res.status).toBe(202);
      expect(res.body).toEqual({ deliveries: 2 });
      await until(async () => sent(w.path).length === 3);
      expect(
        sent(w.path)
          .slice(1)
          .map((r) => JSON.parse(r.body).id),
      ).toEqual([skipped1, skipped2]);
      // The log is written just after the attempts arrive.
      await until(async () => (await hl.api("GET", `${w.base}/logs?trigger=recover`)).body.data.length === 2);
      void ok;
      void unsubscribed;
      // Nothing is missing any more.
      expect((await hl.api("POST", `${w.base}/recover`, { since })).body).toEqual({ deliveries: 0 });
    });

    it("two (or five) recovers at once queue each missing event once", async () => {
      const w = await fresh([{ status: 200 }]);
      await hl.api("PATCH", w.base, { enabled: false });
      const ids: string[] = [];
      for (let i = 0; i < 30; i++) ids.push(await publish(w.p, "issue.created", { i }));
      await hl.api("PATCH", w.base, { enabled: true });
      const since = new Date(Date.now() - 60_000).toISOString();
      const answers = await Promise.all(Array.from({ length: 5 }, () => hl.api("POST", `${w.base}/recover`, { since })));
      expect(answers.map((a) => a.status)).toEqual([202, 202, 202, 202, 202]);
      expect(answers.reduce((sum, a) => sum + a.body.deliveries, 0)).toBe(30);
      const rows = await db().selectFrom("deliveries").select("event_id").where("webhook_id", "=", w.id).where("trigger", "=", "recover").execute();
      expect(rows.map((r) => r.event_id).sort()).toEqual([...ids].sort());
    });

    it("refuses a disabled webhook (409 webhook_disabled), a since outside the retention or after until, and bad input", async () => {
      const w = await fresh();
      const now = Date.now();
      expectValidation(await hl.api("POST", `${w.base}/recover`, {}), "since");
      expectValidation(await hl.api("POST", `${w.base}/recover`, { since: "yesterday" }), "since");
      expectValidation(await hl.api("POST", `${w.base}/recover`, { since: new Date(now - 15 * 86_400_000).toISOString() }), "since");
      expectValidation(
        await hl.api("POST", `${w.base}/recover`, { since: new Date(now - 3600_000).toISOString(), until: new Date(now - 7200_000).toISOString() }),
        "since",
      );
      expectValidation(await hl.api("POST", `${w.base}/recover`, { since: new Date(now - 3600_000).toISOString(), until: 5 }), "until");
      expectError(await hl.api("POST", `${w.base}/recover`, [1]), 422, "validation_failed");
      await hl.api("PATCH", w.base, { enabled: false });
      expectError(await hl.api("POST", `${w.base}/recover`, { since: new Date(now - 3600_000).toISOString() }), 409, "webhook_disabled");
      expectError(await hl.api("POST", `/api/v1/projects/${w.p}/webhooks/${newId("wh")}/recover`, { since: new Date(now).toISOString() }), 404, "not_found");
      const viewer = (await hl.api("POST", `/api/v1/projects/${w.p}/portal-sessions`, { role: "viewer" })).body.token;
      expectError(await hl.api("POST", `${w.base}/recover`, { since: new Date(now).toISOString() }, { token: viewer }), 403, "forbidden");
    });
  });
});
