/** SPEC §3: Test, Redeliver, imports, idempotency, disable/enable/delete during delivery, isolation, log paging, metrics. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { WITH_POOLER } from "../helpers/databases.js";
import { startHookline, type TestHookline } from "../helpers/hookline.js";
import { startReceiver, type Receiver } from "../helpers/receiver.js";
import { eventually, sleep } from "../helpers/wait.js";

describe.each(WITH_POOLER)("delivery actions (%s)", (dialect) => {
  let hl: TestHookline;
  let rx: Receiver;
  let rx2: Receiver;
  let n = 0;
  let project: string;

  beforeAll(async () => {
    rx = await startReceiver();
    rx2 = await startReceiver();
    hl = await startHookline({ dialect, worker: true, ca: [rx.ca, rx2.ca] });
  });
  afterAll(async () => {
    await hl?.close();
    await rx?.close();
    await rx2?.close();
  });
  beforeEach(async () => {
    rx.clear();
    rx2.clear();
    rx.respondWith({ status: 200 });
    rx2.respondWith({ status: 200 });
    project = `p${++n}`;
    await hl.project(project);
  });

  const path = (s = "") => `/api/v1/projects/${project}${s}`;
  const createHook = async (body: Record<string, unknown> = {}) => {
    const res = await hl.api("POST", path("/webhooks"), { name: "hook", events: ["issue.created"], url: rx.url, ...body });
    expect(res.status).toBe(201);
    return res.body as { id: string };
  };
  const publish = (subject: unknown = { id: "BUG-1" }, headers?: Record<string, string>, extra: Record<string, unknown> = {}) =>
    hl.api("POST", path("/events"), { event: "issue.created", subject, ...extra }, { headers });
  const logs = async (id: string, q = "") => (await hl.api("GET", path(`/webhooks/${id}/logs${q}`))).body;
  const webhook = async (id: string) => (await hl.api("GET", path(`/webhooks/${id}`))).body;

  it("Test sends one test-event, even to a disabled webhook, never retried, never disabling", async () => {
    const hook = await createHook({ enabled: false, secret: "s" });
    rx.respondWith({ status: 500 });
    const res = await hl.api("POST", path(`/webhooks/${hook.id}/test`));
    expect(res.status).toBe(202);
    expect(res.body.delivery_id).toMatch(/^dlv_/);
    const [req] = await rx.waitFor(1);
    expect(req.headers["hookline-event"]).toBe("test-event");
    expect(req.headers["hookline-delivery"]).toBe(res.body.delivery_id);
    const body = JSON.parse(req.body);
    expect(body.event).toBe("test-event");
    expect(body.subject).toEqual({ webhook_id: hook.id, message: "This is a test event from Hookline." });
    expect(body.project_id).toBe(project);
    await sleep(700);
    expect(rx.requests).toHaveLength(1);
    const entry = (await logs(hook.id)).data[0];
    expect(entry).toMatchObject({ trigger: "test", event: "test-event", attempt: 1, success: false, status_code: 500 });
    expect((await webhook(hook.id)).disabled_reason).toBe("manual");
    // A failing test on an enabled webhook does not disable it either.
    const enabled = await createHook({});
    await hl.api("POST", path(`/webhooks/${enabled.id}/test`));
    await rx.waitFor(2);
    await sleep(500);
    expect((await webhook(enabled.id)).enabled).toBe(true);
  });

  it("Redeliver resends the same body once, with trigger redeliver and a new delivery id", async () => {
    const hook = await createHook({});
    await publish({ id: "BUG-9" });
    const [first] = await rx.waitFor(1);
    const entry = await eventually(async () => (await logs(hook.id)).data[0]);
    rx.respondWith({ status: 500 });
    const res = await hl.api("POST", path(`/webhooks/${hook.id}/logs/${entry.id}/redeliver`));
    expect(res.status).toBe(202);
    const reqs = await rx.waitFor(2);
    expect(reqs[1].body).toBe(first.body);
    expect(reqs[1].headers["hookline-delivery"]).toBe(res.body.delivery_id);
    expect(reqs[1].headers["hookline-delivery"]).not.toBe(first.headers["hookline-delivery"]);
    expect(reqs[1].headers["hookline-attempt"]).toBe("1");
    await sleep(700);
    expect(rx.requests).toHaveLength(2); // no retries
    const latest = (await logs(hook.id)).data[0];
    expect(latest).toMatchObject({ trigger: "redeliver", success: false, attempt: 1, event: "issue.created" });
    expect((await webhook(hook.id)).enabled).toBe(true);
    const missing = await hl.api("POST", path(`/webhooks/${hook.id}/logs/log_01h00000000000000000000000/redeliver`));
    expect(missing.status).toBe(404);
  });

  it("accepts imports and delivers nothing", async () => {
    await createHook({});
    const res = await publish({ id: "BUG-2" }, undefined, { source: "import" });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ id: null, deliveries: 0, skipped: "import" });
    const app = await publish({ id: "BUG-3" }, undefined, { source: "app" });
    expect(app.body.deliveries).toBe(1);
    await rx.waitFor(1);
    await sleep(300);
    expect(rx.requests).toHaveLength(1);
    expect(JSON.parse(rx.requests[0].body).subject.id).toBe("BUG-3");
  });

  it("answers a repeated Idempotency-Key with the first result and sends once", async () => {
    await createHook({});
    const a = await publish({ id: "BUG-4" }, { "Idempotency-Key": "key-1" });
    const b = await publish({ id: "BUG-4-changed" }, { "Idempotency-Key": "key-1" });
    expect(a.status).toBe(202);
    expect(b.status).toBe(202);
    expect(b.body).toEqual(a.body);
    const concurrent = await Promise.all(Array.from({ length: 8 }, () => publish({ id: "BUG-5" }, { "Idempotency-Key": "key-2" })));
    expect(new Set(concurrent.map((r) => r.body.id)).size).toBe(1);
    await rx.waitFor(2);
    await sleep(400);
    expect(rx.requests).toHaveLength(2);
    // Keys are per project.
    const other = `${project}-other`;
    await hl.project(other);
    const c = await hl.api("POST", `/api/v1/projects/${other}/events`, { event: "issue.created", subject: {} }, { headers: { "Idempotency-Key": "key-1" } });
    expect(c.body.id).not.toBe(a.body.id);
  });

  it("disabling cancels pending retries; enabling delivers only events published afterwards", async () => {
    const hook = await createHook({});
    rx.respondWith({ status: 500 });
    await publish({ id: "before" });
    await rx.waitFor(1);
    const dis = await hl.api("PATCH", path(`/webhooks/${hook.id}`), { enabled: false });
    expect(dis.body).toMatchObject({ enabled: false, disabled_reason: "manual" });
    expect(dis.body.disabled_at).not.toBeNull();
    const whileDisabled = await publish({ id: "during" });
    expect(whileDisabled.body.deliveries).toBe(0);
    await sleep(800);
    expect(rx.requests).toHaveLength(1);
    rx.respondWith({ status: 200 });
    const en = await hl.api("PATCH", path(`/webhooks/${hook.id}`), { enabled: true });
    expect(en.body).toMatchObject({ enabled: true, disabled_reason: null, disabled_at: null });
    await publish({ id: "after" });
    await rx.waitFor(2);
    await sleep(300);
    expect(rx.requests.map((r) => JSON.parse(r.body).subject.id)).toEqual(["before", "after"]);
  });

  it("deleting a webhook during retries stops delivery and removes its log", async () => {
    // Longer gaps than the shared instance, so the delete lands between two attempts.
    const slowRetries = await startHookline({ dialect, worker: true, ca: rx.ca, env: { HOOKLINE_RETRY_DELAYS: "0.6,0.6,0.6" } });
    try {
      await slowRetries.project("d");
      const hook = (await slowRetries.api("POST", "/api/v1/projects/d/webhooks", { name: "x", events: ["issue.created"], url: rx.url })).body;
      rx.respondWith({ status: 500 });
      await slowRetries.api("POST", "/api/v1/projects/d/events", { event: "issue.created", subject: {} });
      await rx.waitFor(1);
      await eventually(async () => (await slowRetries.api("GET", `/api/v1/projects/d/webhooks/${hook.id}/logs`)).body.data.length > 0);
      const del = await slowRetries.api("DELETE", `/api/v1/projects/d/webhooks/${hook.id}`);
      expect(del.status).toBe(204);
      await sleep(1500);
      expect(rx.requests).toHaveLength(1);
      expect((await slowRetries.api("GET", `/api/v1/projects/d/webhooks/${hook.id}/logs`)).status).toBe(404);
      const db = slowRetries.runtime.ctx.store.db;
      expect(await db.selectFrom("log_entries").select("id").where("webhook_id", "=", hook.id).execute()).toHaveLength(0);
      expect(await db.selectFrom("deliveries").select("id").where("webhook_id", "=", hook.id).execute()).toHaveLength(0);
    } finally {
      await slowRetries.close();
    }
  });

  it("keeps a hanging endpoint from delaying other webhooks", async () => {
    const slow = await createHook({ url: rx2.url });
    const fast = await createHook({});
    rx2.respondWith({ hang: true });
    // Enough events to fill the slow webhook's in-flight cap several times over.
    for (let i = 0; i < 30; i++) await publish({ i });
    const t0 = Date.now();
    await rx.waitFor(30, 5000);
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(slow.id).toBeTruthy();
    expect(fast.id).toBeTruthy();
  });

  it("pages the log newest first with a cursor and filters by outcome and event", async () => {
    const hook = await createHook({ events: ["issue.created", "issue.updated"] });
    rx.respondWith((req) => (JSON.parse(req.body).subject.fail ? { status: 500 } : { status: 200 }));
    for (let i = 0; i < 5; i++) await publish({ i });
    await hl.api("POST", path("/events"), { event: "issue.updated", subject: { i: 99 } });
    await hl.api("POST", path("/events"), { event: "issue.updated", subject: { fail: true } });
    await eventually(async () => (await logs(hook.id, "?limit=100")).data.length >= 10, 8000);
    const all = (await logs(hook.id, "?limit=100")).data as any[];
    const ids = all.map((e) => e.id);
    expect([...ids].sort().reverse()).toEqual(ids);
    expect(all[0].request).toBeUndefined();
    const page1 = await logs(hook.id, "?limit=3");
    expect(page1.data).toHaveLength(3);
    expect(page1.next_cursor).toBeTruthy();
    const page2 = await logs(hook.id, `?limit=3&cursor=${page1.next_cursor}`);
    expect(page2.data[0].id < page1.data[2].id).toBe(true);
    const failed = (await logs(hook.id, "?success=false&limit=100")).data as any[];
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.every((e) => e.success === false)).toBe(true);
    const updated = (await logs(hook.id, "?event=issue.updated&success=true")).data as any[];
    expect(updated).toHaveLength(1);
    for (const bad of ["?limit=0", "?limit=101", "?limit=x", "?success=maybe", "?cursor=nope"]) {
      const res = await hl.api("GET", path(`/webhooks/${hook.id}/logs${bad}`));
      expect(res.status, bad).toBe(422);
      expect(res.body.error.code).toBe("validation_failed");
    }
    const stats = await hl.api("GET", path(`/webhooks/${hook.id}/stats`));
    expect(stats.status).toBe(200);
    expect(stats.body.buckets).toHaveLength(24);
    const last = stats.body.buckets[23];
    expect(last.succeeded + last.failed).toBe(all.length);
  });

  it("exposes Prometheus metrics without a token", async () => {
    await createHook({});
    await publish();
    await rx.waitFor(1);
    await sleep(200);
    const res = await fetch(`${hl.baseUrl}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toMatch(/hookline_deliveries_total\{outcome="succeeded",trigger="event"\} \d+/);
    expect(text).toMatch(/hookline_attempts_total\{outcome="success",trigger="event"\} \d+/);
    expect(text).toContain("hookline_attempt_duration_seconds_bucket");
    expect(text).toMatch(/hookline_pending_deliveries \d+/);
    expect(text).toMatch(/hookline_oldest_pending_age_seconds [\d.]+/);
  });
});

describe.each(WITH_POOLER)("last_delivery on request (%s)", (dialect) => {
  it("adds each webhook's newest attempt only with ?include=last_delivery", async () => {
    const rx = await startReceiver();
    const hl = await startHookline({ dialect, worker: true, ca: rx.ca });
    try {
      await hl.project("acme");
      const hook = (await hl.api("POST", "/api/v1/projects/acme/webhooks", { name: "h", events: ["issue.created"], url: rx.url })).body;
      expect(hook.last_delivery).toBeUndefined();
      const before = await hl.api("GET", "/api/v1/projects/acme/webhooks?include=last_delivery");
      expect(before.body.data[0].last_delivery).toBeNull();
      rx.respondWith({ status: 202 });
      await hl.api("POST", "/api/v1/projects/acme/events", { event: "issue.created", subject: {} });
      await rx.waitFor(1);
      const list = await eventually(async () => {
        const r = await hl.api("GET", "/api/v1/projects/acme/webhooks?include=last_delivery");
        return r.body.data[0].last_delivery && r.body;
      });
      expect(list.data[0].last_delivery).toMatchObject({ success: true, status_code: 202 });
      expect((await hl.api("GET", "/api/v1/projects/acme/webhooks")).body.data[0].last_delivery).toBeUndefined();
      expect((await hl.api("GET", `/api/v1/projects/acme/webhooks/${hook.id}`)).body.last_delivery).toBeUndefined();
      expect((await hl.api("GET", `/api/v1/projects/acme/webhooks/${hook.id}?include=last_delivery`)).body.last_delivery.success).toBe(true);
    } finally {
      await hl.close();
      await rx.close();
    }
  });
});
