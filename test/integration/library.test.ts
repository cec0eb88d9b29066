/**
 * The embedded library (SPEC §7) against real databases and a real TLS receiver: publish,
 * withoutWebhooks (across awaits, concurrent calls inside and outside), the webhook operations,
 * listen/close with draining.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, createHookline, LimitError, NotFoundError, ValidationError, type Hookline, type HooklineOptions } from "../../src/index.js";
import { Webhook } from "standardwebhooks";
import { verifySignature, verifyWebhook } from "../../src/verify.js";
import { createTestDatabase, DIALECTS, type TestDatabase } from "../helpers/databases.js";
import { startReceiver, type Receiver } from "../helpers/receiver.js";

const SECRET = "whsec_library-test";

async function eventually<T>(probe: () => Promise<T | undefined | null | false>, what: string, timeoutMs = 5000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

describe.each(DIALECTS)("library (%s)", (dialect) => {
  let db: TestDatabase;
  let rx: Receiver;
  let hookline: Hookline;
  let options: HooklineOptions;

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    rx = await startReceiver();
    options = {
      databaseUrl: db.url,
      adminToken: "library-admin-token-0123456789",
      secretKey: "library-secret-key-0123456789abcdef0123",
      allowPrivateNetworks: ["127.0.0.0/8"],
      retryDelaysMs: [50, 50],
      timeoutMs: 2000,
      logLevel: "silent",
      ca: rx.ca,
    };
    hookline = await createHookline(options);
    hookline.startWorker();
    await hookline.projects.put("acme", { name: "Acme", notification_emails: ["owner@example.com"] });
  });
  afterAll(async () => {
    await hookline?.close();
    await rx?.close();
    await db?.drop();
  });
  afterEach(() => {
    rx.respondWith({ status: 200 });
    rx.clear();
  });

  async function webhook(name: string, events: string[]) {
    return hookline.webhooks.create("acme", { name, events, url: `${rx.url}/${name}`, secret: SECRET });
  }

  it("publishes: a signed delivery arrives with the published subject", async () => {
    const wh = await webhook("publish", ["test-run.completed"]);
    const result = await hookline.publish("acme", "test-run.completed", { id: "TR-1", status: "passed" });
    expect(result).toEqual({ id: expect.stringMatching(/^evt_/), deliveries: 1 });
    const [req] = await rx.waitFor(1);
    expect(req.path).toBe("/publish");
    const body = verifyWebhook(SECRET, req.body, req.headers) as Record<string, unknown>;
    expect(body).toMatchObject({ id: result.id, event: "test-run.completed", project_id: "acme", subject: { id: "TR-1", status: "passed" } });
    // The same delivery passes the plain Signature check and the standardwebhooks package's verifier.
    expect(verifySignature(SECRET, req.body, req.headers.signature)).toBe(true);
    expect(new Webhook(SECRET, { format: "raw" }).verify(req.body, req.headers as Record<string, string>)).toEqual(body);
    await hookline.webhooks.delete("acme", wh.id);
  });

  it("answers the first result for a repeated idempotency key and sends nothing again", async () => {
    const wh = await webhook("idem", ["issue.created"]);
    const first = await hookline.publish("acme", "issue.created", { id: "BUG-1" }, { idempotencyKey: "bug-1-created" });
    const again = await hookline.publish("acme", "issue.created", { id: "BUG-1" }, { idempotencyKey: "bug-1-created" });
    expect(again).toEqual(first);
    await rx.waitFor(1);
    await sleep(300);
    expect(rx.requests).toHaveLength(1);
    await hookline.webhooks.delete("acme", wh.id);
  });

  it("withoutWebhooks skips publishes inside the scope, across awaits, and only there", async () => {
    const wh = await webhook("imports", ["test-case.created"]);
    const inside: unknown[] = [];
    const returned = await hookline.withoutWebhooks(async () => {
      inside.push(await hookline.publish("acme", "test-case.created", { id: "TC-1" }));
      await sleep(20);
      // Concurrent work started outside the scope while this import is suspended is not affected.
      inside.push(await hookline.publish("acme", "test-case.created", { id: "TC-2" }));
      await Promise.all(
        [3, 4, 5].map(async (n) => {
          await sleep(n);
          inside.push(await hookline.publish("acme", "test-case.created", { id: `TC-${n}` }));
        }),
      );
      // Even an explicit source is overridden inside the scope.
      inside.push(await hookline.publish("acme", "test-case.created", { id: "TC-6" }, { source: "app" }));
      return "imported";
    });
    expect(returned).toBe("imported");
    expect(inside).toHaveLength(6);
    for (const r of inside) expect(r).toEqual({ id: null, deliveries: 0, skipped: "import" });

    const after = await hookline.publish("acme", "test-case.created", { id: "TC-after" });
    expect(after.deliveries).toBe(1);
    const [req] = await rx.waitFor(1);
    expect(JSON.parse(req.body).subject.id).toBe("TC-after");
    await hookline.webhooks.delete("acme", wh.id);
  });

  it("withoutWebhooks: concurrent publishes outside the scope still deliver", async () => {
    const wh = await webhook("concurrent", ["risk.created"]);
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const scoped = hookline.withoutWebhooks(async () => {
      await gate; // suspended while the outside publishes run
      return Promise.all([1, 2].map((n) => hookline.publish("acme", "risk.created", { id: `RSK-in-${n}` })));
    });
    const outsideResults = await Promise.all([1, 2, 3].map((n) => hookline.publish("acme", "risk.created", { id: `RSK-out-${n}` })));
    open();
    const insideResults = await scoped;
    expect(outsideResults.map((r) => r.deliveries)).toEqual([1, 1, 1]);
    expect(insideResults.map((r) => r.skipped)).toEqual(["import", "import"]);
    const got = await rx.waitFor(3);
    await sleep(300);
    expect(rx.requests).toHaveLength(3);
    expect(got.map((r) => JSON.parse(r.body).subject.id).sort()).toEqual(["RSK-out-1", "RSK-out-2", "RSK-out-3"]);
    await hookline.webhooks.delete("acme", wh.id);
  });

  it("withoutWebhooks passes errors through and still validates publishes", async () => {
    await expect(
      hookline.withoutWebhooks(() => {
        throw new Error("import failed");
      }),
    ).rejects.toThrow("import failed");
    await expect(hookline.withoutWebhooks(() => hookline.publish("acme", "no.such-event", {}))).rejects.toBeInstanceOf(ValidationError);
    expect(await hookline.withoutWebhooks(() => 42)).toBe(42);
  });

  it("publish reports bad input as typed errors", async () => {
    await expect(hookline.publish("nope", "issue.created", {})).rejects.toBeInstanceOf(NotFoundError);
    const err = await hookline.publish("acme", "issue.nope", {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).details[0].field).toBe("event");
    await expect(hookline.publish("acme", "test-event", {})).rejects.toBeInstanceOf(ValidationError);
  });

  it("manages projects, webhooks, logs, notifications and portal links", async () => {
    const p = await hookline.projects.put("ops", { name: "Ops" });
    expect(p).toMatchObject({ id: "ops", name: "Ops", notification_emails: [] });
    expect((await hookline.projects.list()).map((x) => x.id)).toEqual(expect.arrayContaining(["acme", "ops"]));
    expect((await hookline.projects.get("ops")).name).toBe("Ops");

    const wh = await hookline.webhooks.create("ops", { name: "CI", events: ["test-run.completed"], url: `${rx.url}/ci`, secret: SECRET });
    expect(wh).toMatchObject({ name: "CI", enabled: true, disabled_reason: null, has_secret: true });
    expect(wh).not.toHaveProperty("secret");
    expect(await hookline.webhooks.secret("ops", wh.id)).toEqual({ secret: SECRET });
    const listed = await hookline.webhooks.list("ops");
    expect(listed).toMatchObject({ active_count: 1, active_limit: 5 });
    expect((await hookline.webhooks.update("ops", wh.id, { name: "CI trigger" })).name).toBe("CI trigger");
    await expect(hookline.webhooks.create("ops", { name: "bad", events: [], url: "http://example.com" })).rejects.toBeInstanceOf(ValidationError);
    for (let i = 0; i < 4; i++) await hookline.webhooks.create("ops", { name: `w${i}`, events: ["issue.created"], url: `${rx.url}/w${i}` });
    await expect(hookline.webhooks.create("ops", { name: "sixth", events: ["issue.created"], url: `${rx.url}/6` })).rejects.toBeInstanceOf(LimitError);

    const { delivery_id } = await hookline.webhooks.test("ops", wh.id);
    const [req] = await rx.waitFor(1);
    expect(req.headers["hookline-event"]).toBe("test-event");
    expect(req.headers["hookline-delivery"]).toBe(delivery_id);
    const page = await eventually(async () => {
      const l = await hookline.logs.list("ops", wh.id, { limit: 10 });
      return l.data.length ? l : null;
    }, "the test delivery's log entry");
    expect(page.data[0]).toMatchObject({ delivery_id, event: "test-event", trigger: "test", success: true, status_code: 200 });
    expect((await hookline.logs.list("ops", wh.id, { success: false })).data).toEqual([]);
    const entry = await hookline.logs.get("ops", wh.id, page.data[0].id);
    expect(entry.request.method).toBe("POST");
    expect(entry.response?.status).toBe(200);
    const again = await hookline.logs.redeliver("ops", wh.id, entry.id);
    const [, second] = await rx.waitFor(2);
    expect(second.headers["hookline-delivery"]).toBe(again.delivery_id);
    expect(second.body).toBe(req.body);

    // A failing endpoint is auto-disabled after its retries, with a notification.
    rx.respondWith({ status: 500 });
    await hookline.publish("ops", "test-run.completed", { id: "TR-9" });
    const disabled = await eventually(async () => {
      const w = await hookline.webhooks.get("ops", wh.id);
      return w.disabled_reason === "failures" ? w : null;
    }, "auto-disable");
    expect(disabled.enabled).toBe(false);
    const notes = await eventually(async () => {
      const n = await hookline.notifications.list("ops");
      return n.length ? n : null;
    }, "a notification");
    expect(notes[0]).toMatchObject({ kind: "webhook.disabled", webhook_id: wh.id, read_at: null });
    expect((await hookline.notifications.markRead("ops", notes[0].id)).read_at).not.toBeNull();

    const link = await hookline.portalLink("ops", { role: "viewer", ttlSeconds: 600 });
    expect(link.url).toBe(`${hookline.publicUrl}/portal#token=${encodeURIComponent(link.token)}`);
    await expect(hookline.portalLink("ops", { ttlSeconds: 0 })).rejects.toBeInstanceOf(ValidationError);
    await expect(hookline.portalLink("missing")).rejects.toBeInstanceOf(NotFoundError);

    await hookline.webhooks.delete("ops", wh.id);
    await expect(hookline.webhooks.get("ops", wh.id)).rejects.toBeInstanceOf(NotFoundError);
    await hookline.projects.delete("ops");
    await expect(hookline.projects.get("ops")).rejects.toBeInstanceOf(NotFoundError);
  });

  it("lists and extends the event catalog", async () => {
    expect((await hookline.eventTypes.list()).map((t) => t.name)).toContain("milestone.completed");
    await hookline.eventTypes.put("invoice.paid", { description: "An invoice was paid.", example: { id: "INV-1" } });
    expect(await hookline.publish("acme", "invoice.paid", { id: "INV-2" })).toMatchObject({ deliveries: 0 });
  });

  it("listen() serves API + UI + worker as `serve`; close() drains in-flight attempts", async () => {
    // A database of its own: on the shared one the suite's other worker could take the attempt
    // (PostgreSQL wakes every worker), and close() rightly would not wait for another instance's.
    const ownDb = await createTestDatabase(dialect);
    const served = await createHookline({ ...options, databaseUrl: ownDb.url, worker: true });
    let closedServed = false;
    try {
      const address = await served.listen({ port: 0, host: "127.0.0.1" });
      expect((await fetch(`${address}/healthz`)).status).toBe(200);
      expect(served.publicUrl).toBe(`http://localhost:${new URL(address).port}`);
      const auth = { authorization: `Bearer ${served.adminToken}`, "content-type": "application/json" };
      await served.projects.put("served", { name: "Served" });
      const wh = await served.webhooks.create("served", { name: "slow", events: ["milestone.completed"], url: `${rx.url}/slow`, secret: SECRET });

      // The receiver answers slowly; close() must wait for that attempt and record it.
      rx.respondWith({ status: 204, delayMs: 700 });
      const res = await fetch(`${address}/api/v1/projects/served/events`, {
        method: "POST",
        headers: auth,
        body: JSON.stringify({ event: "milestone.completed", subject: { id: "MS-1" } }),
      });
      expect(res.status).toBe(202);
      const [arrived] = await rx.waitFor(1);
      await served.close();
      closedServed = true;
      // close() returned only after the receiver's (700 ms late) answer.
      expect(Date.now()).toBeGreaterThanOrEqual(arrived.receivedAt.getTime() + 650);
      await expect(served.publish("served", "milestone.completed", { id: "MS-2" })).rejects.toThrow(/closed/);

      const reader = await createHookline({ ...options, databaseUrl: ownDb.url });
      try {
        const logs = await reader.logs.list("served", wh.id);
        expect(logs.data).toHaveLength(1);
        expect(logs.data[0]).toMatchObject({ success: true, status_code: 204 });
      } finally {
        await reader.close();
      }
    } finally {
      if (!closedServed) await served.close();
      await ownDb.drop();
    }
  });

  it("refuses unknown and invalid options, naming them", async () => {
    await expect(createHookline({ ...options, databseUrl: "x" } as HooklineOptions)).rejects.toThrow(/Unknown createHookline option "databseUrl"/);
    const err = await createHookline({ ...options, timeoutMs: 5 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toMatch(/HOOKLINE_TIMEOUT_MS/);
  });
});
