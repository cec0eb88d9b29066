/** SPEC §3: the request, signatures checked by independent implementations, retries, live edits. */
import { execFileSync } from "node:child_process";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { WITH_POOLER } from "../helpers/databases.js";
import { startHookline, type TestHookline } from "../helpers/hookline.js";
import { startReceiver, type Receiver } from "../helpers/receiver.js";
import { eventually, sleep } from "../helpers/wait.js";
import { HOOKLINE_VERSION } from "../../src/version.js";

const opensslHmac = (key: string, body: string) =>
  execFileSync("openssl", ["dgst", "-sha256", "-hmac", key], { input: body }).toString().trim().split("= ").pop();

describe.each(WITH_POOLER)("delivery (%s)", (dialect) => {
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

  const createHook = async (body: Record<string, unknown>) => {
    const res = await hl.api("POST", `/api/v1/projects/${project}/webhooks`, { name: "hook", events: ["test-run.completed"], url: rx.url, ...body });
    expect(res.status).toBe(201);
    return res.body as { id: string };
  };
  const publish = (event = "test-run.completed", subject: unknown = { id: "TR-7", status: "passed" }, headers?: Record<string, string>) =>
    hl.api("POST", `/api/v1/projects/${project}/events`, { event, subject }, { headers });
  const logs = async (webhookId: string, query = "") =>
    (await hl.api("GET", `/api/v1/projects/${project}/webhooks/${webhookId}/logs${query}`)).body.data as any[];

  it("sends the spec's headers and body, signed so openssl and standardwebhooks agree", async () => {
    const secret = "whsec_dGhpcyBpcyBhIHRlc3Qgc2VjcmV0IGtleQ==";
    const hook = await createHook({ secret, path: undefined });
    const subject = { id: "TR-7", name: "Regression ✓", nested: { n: 1.5, list: [1, "two"] } };
    const pub = await publish("test-run.completed", subject);
    expect(pub.status).toBe(202);
    const [req] = await rx.waitFor(1);
    expect(req.method).toBe("POST");
    expect(req.headers["content-type"]).toBe("application/json");
    expect(req.headers["user-agent"]).toBe(`Hookline/${HOOKLINE_VERSION}`);
    expect(req.headers["hookline-event"]).toBe("test-run.completed");
    expect(req.headers["hookline-attempt"]).toBe("1");
    const deliveryId = req.headers["hookline-delivery"] as string;
    expect(deliveryId).toMatch(/^dlv_/);
    const body = JSON.parse(req.body);
    expect(Object.keys(body)).toEqual(["id", "event", "created_at", "project_id", "subject"]);
    expect(body).toMatchObject({ id: pub.body.id, event: "test-run.completed", project_id: project, subject });
    expect(new Date(body.created_at).toISOString()).toBe(body.created_at);
    // Signature: hex HMAC-SHA256 of the exact bytes, checked by openssl.
    expect(req.headers["signature"]).toBe(opensslHmac(secret, req.body));
    // Standard Webhooks, checked by the reference library with the raw key.
    expect(req.headers["webhook-id"]).toBe(deliveryId);
    expect(Math.abs(Number(req.headers["webhook-timestamp"]) - Date.now() / 1000)).toBeLessThan(30);
    const wh = new Webhook(secret, { format: "raw" });
    expect(() => wh.verify(req.body, req.headers as Record<string, string>)).not.toThrow();
    expect(() => wh.verify(req.body + " ", req.headers as Record<string, string>)).toThrow();
    const entry = await eventually(async () => (await logs(hook.id))[0]);
    expect(entry).toMatchObject({
      webhook_id: hook.id,
      delivery_id: deliveryId,
      event: "test-run.completed",
      attempt: 1,
      trigger: "event",
      success: true,
      status_code: 200,
      error: null,
    });
  });

  it("sends no signature headers without a secret", async () => {
    await createHook({});
    await publish();
    const [req] = await rx.waitFor(1);
    for (const h of ["signature", "webhook-id", "webhook-timestamp", "webhook-signature"]) expect(req.headers[h]).toBeUndefined();
  });

  it("delivers only to enabled webhooks subscribed to the event", async () => {
    await createHook({ events: ["test-run.completed"] });
    await createHook({ events: ["issue.created"], url: rx2.url });
    await createHook({ events: ["test-run.completed"], url: rx2.url, enabled: false });
    const pub = await publish();
    expect(pub.body.deliveries).toBe(1);
    await rx.waitFor(1);
    await sleep(300);
    expect(rx2.requests).toHaveLength(0);
  });

  it("retries after the configured delays with the same body and delivery id, then succeeds", async () => {
    const hook = await createHook({ secret: "abc" });
    let calls = 0;
    rx.respondWith(() => (++calls < 3 ? { status: 503 } : { status: 204 }));
    await publish();
    const reqs = await rx.waitFor(3, 5000);
    await sleep(400);
    expect(rx.requests).toHaveLength(3);
    expect(reqs.map((r) => r.headers["hookline-attempt"])).toEqual(["1", "2", "3"]);
    expect(new Set(reqs.map((r) => r.headers["hookline-delivery"])).size).toBe(1);
    expect(new Set(reqs.map((r) => r.body)).size).toBe(1);
    for (const r of reqs) expect(r.headers["signature"]).toBe(opensslHmac("abc", r.body));
    // Gaps follow HOOKLINE_RETRY_DELAYS=0.1,0.2,0.3.
    const gap1 = reqs[1].receivedAt.getTime() - reqs[0].receivedAt.getTime();
    const gap2 = reqs[2].receivedAt.getTime() - reqs[1].receivedAt.getTime();
    expect(gap1).toBeGreaterThanOrEqual(90);
    expect(gap2).toBeGreaterThanOrEqual(190);
    const entries = await eventually(async () => {
      const l = await logs(hook.id);
      return l.length === 3 && l;
    });
    expect(entries.map((e) => [e.attempt, e.success, e.status_code])).toEqual([
      [3, true, 204],
      [2, false, 503],
      [1, false, 503],
    ]);
    const wh = (await hl.api("GET", `/api/v1/projects/${project}/webhooks/${hook.id}`)).body;
    expect(wh.enabled).toBe(true);
  });

  it("applies URL and secret changes to later retries", async () => {
    const hook = await createHook({ secret: "old-secret" });
    rx.respondWith({ status: 500 });
    await publish();
    await rx.waitFor(1);
    const patch = await hl.api("PATCH", `/api/v1/projects/${project}/webhooks/${hook.id}`, { url: rx2.url, secret: "new-secret" });
    expect(patch.status).toBe(200);
    const [retry] = await rx2.waitFor(1, 5000);
    expect(retry.headers["hookline-attempt"]).toBe("2");
    expect(retry.headers["signature"]).toBe(opensslHmac("new-secret", retry.body));
  });

  it("does not follow redirects: a 3xx fails the attempt", async () => {
    const hook = await createHook({});
    rx.respondWith({ redirectTo: `${rx2.url}/elsewhere`, status: 302 });
    await publish();
    await rx.waitFor(1);
    const entry = await eventually(async () => (await logs(hook.id))[0]);
    expect(entry).toMatchObject({ success: false, status_code: 302 });
    await sleep(200);
    expect(rx2.requests).toHaveLength(0);
  });

  it("fails a hanging endpoint at the timeout with a clear error", async () => {
    const fast = await startHookline({ dialect, worker: true, ca: rx.ca, env: { HOOKLINE_TIMEOUT_MS: "300", HOOKLINE_RETRY_DELAYS: "" } });
    try {
      await fast.project("t");
      const hook = (await fast.api("POST", "/api/v1/projects/t/webhooks", { name: "slow", events: ["issue.created"], url: rx.url })).body;
      rx.respondWith({ hang: true });
      await fast.api("POST", "/api/v1/projects/t/events", { event: "issue.created", subject: { id: 1 } });
      const entry = await eventually(async () => (await fast.api("GET", `/api/v1/projects/t/webhooks/${hook.id}/logs`)).body.data[0], 5000);
      expect(entry.success).toBe(false);
      expect(entry.status_code).toBeNull();
      expect(entry.error).toMatch(/timed out after 300 ms/i);
      expect(entry.duration_ms).toBeGreaterThanOrEqual(250);
      expect(entry.duration_ms).toBeLessThan(2000);
    } finally {
      await fast.close();
    }
  });

  it("logs the first 64 KiB of a huge response, marked truncated", async () => {
    const hook = await createHook({});
    rx.respondWith({ status: 200, bodyBytes: 5 * 1024 * 1024, headers: { "x-test": "yes" } });
    await publish();
    const entry = await eventually(async () => (await logs(hook.id))[0]);
    const detail = (await hl.api("GET", `/api/v1/projects/${project}/webhooks/${hook.id}/logs/${entry.id}`)).body;
    expect(detail.response.truncated).toBe(true);
    expect(detail.response.body.length).toBe(64 * 1024);
    expect(detail.response.status).toBe(200);
    expect(detail.response.headers["x-test"]).toBe("yes");
    expect(detail.request.method).toBe("POST");
    expect(detail.request.url).toBe(rx.url);
    expect(detail.request.headers["Hookline-Event"] ?? detail.request.headers["hookline-event"]).toBe("test-run.completed");
    expect(JSON.parse(detail.request.body).event).toBe("test-run.completed");
  });

  it("records connection failures with a clear error", async () => {
    const hook = await createHook({ url: "https://127.0.0.1:9/nothing-listens" });
    await publish();
    const entry = await eventually(async () => (await logs(hook.id))[0]);
    expect(entry.success).toBe(false);
    expect(entry.error).toMatch(/refused/i);
  });

  it("refuses a host name that resolves to a blocked address at send time", async () => {
    const guarded = await startHookline({
      dialect,
      worker: true,
      ca: rx.ca,
      env: { HOOKLINE_ALLOW_PRIVATE_NETWORKS: "", HOOKLINE_RETRY_DELAYS: "" },
      lookup: ((_host: string, opts: any, cb: any) =>
        opts?.all ? cb(null, [{ address: "169.254.169.254", family: 4 }]) : cb(null, "169.254.169.254", 4)) as any,
    });
    try {
      await guarded.project("g");
      const hook = (
        await guarded.api("POST", "/api/v1/projects/g/webhooks", { name: "meta", events: ["issue.created"], url: "https://metadata.example.com/x" })
      ).body;
      await guarded.api("POST", "/api/v1/projects/g/events", { event: "issue.created", subject: { id: 1 } });
      const entry = await eventually(async () => (await guarded.api("GET", `/api/v1/projects/g/webhooks/${hook.id}/logs`)).body.data[0]);
      expect(entry.success).toBe(false);
      expect(entry.error).toMatch(/blocked address 169\.254\.169\.254/i);
    } finally {
      await guarded.close();
    }
  });
});
