/**
 * SPEC §3 "Retries and auto-disable": after the last retry fails the webhook is disabled, its queued
 * deliveries are cancelled, and the owners hear of it three ways — the in-app notification list, an
 * e-mail through a real SMTP server, and a signed `webhook.disabled` POST to HOOKLINE_NOTIFY_URL.
 * Test/Redeliver failures and manual disables raise nothing.
 */
import { execFileSync } from "node:child_process";
import net, { type AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WITH_POOLER } from "../helpers/databases.js";
import { startHookline, type TestHookline } from "../helpers/hookline.js";
import { startReceiver, type ReceivedRequest, type Receiver } from "../helpers/receiver.js";
import { eventually, sleep } from "../helpers/wait.js";

const NOTIFY_SECRET = "notify-secret-0123456789abcdef";
const RETRY_DELAYS_MS = [100, 200, 300]; // the test default HOOKLINE_RETRY_DELAYS=0.1,0.2,0.3
const EMAILS = ["owner@example.com", "ops@example.com"];
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

interface Mail {
  from: string;
  to: string[];
  raw: string;
}

interface Smtp {
  port: number;
  mails: Mail[];
  close(): Promise<void>;
}

/** A real SMTP server on loopback (no TLS, no auth) that keeps every message it accepts. */
async function startSmtp(port = 0): Promise<Smtp> {
  const mails: Mail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          to: session.envelope.rcptTo.map((a) => a.address),
          // Unfold headers so a long Subject reads as one line.
          raw: Buffer.concat(chunks)
            .toString("utf8")
            .replace(/\r\n[ \t]+/g, " "),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  return {
    port: (server.server.address() as AddressInfo).port,
    mails,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A loopback port nothing listens on (for "the SMTP server is down"). */
async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const opensslHmac = (key: string, body: string) =>
  execFileSync("openssl", ["dgst", "-sha256", "-hmac", key], { input: body }).toString().trim().split("= ").pop();

/** Decodes RFC 2047 encoded-words (`=?UTF-8?Q?…?=` / `?B?`), as mail clients show a header. */
const decodeHeader = (value: string) =>
  value.replace(/\?=\s+=\?/g, "?==?").replace(/=\?([^?]+)\?([QqBb])\?([^?]*)\?=/g, (_, _charset: string, enc: string, text: string) =>
    enc.toUpperCase() === "B"
      ? Buffer.from(text, "base64").toString("utf8")
      : Buffer.from(
          text.replace(/_/g, " ").replace(/=([0-9A-Fa-f]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))),
          "latin1",
        ).toString("utf8"),
  );
const header = (raw: string, name: string) => decodeHeader(raw.match(new RegExp(`^${name}: (.*)$`, "mi"))?.[1] ?? "");

const deliveryOf = (r: ReceivedRequest) => r.headers["hookline-delivery"] as string;
const attemptOf = (r: ReceivedRequest) => Number(r.headers["hookline-attempt"]);

describe.each(WITH_POOLER)("auto-disable notifications (%s)", (dialect) => {
  let hl: TestHookline;
  let rx: Receiver;
  let notifyRx: Receiver;
  let smtp: Smtp;
  /** What /probe answers (the Test/Redeliver case switches it). */
  const probeStatus = { value: 200 };

  beforeAll(async () => {
    rx = await startReceiver({
      respond: (req) => {
        if (req.path === "/probe") return { status: probeStatus.value };
        if (req.path === "/manual") return { status: 500, delayMs: 1200 };
        // Slow and failing; the last attempt is held long enough to publish more events meanwhile.
        return { status: 500, delayMs: attemptOf(req) === 4 ? 1500 : 30, body: "boom" };
      },
    });
    notifyRx = await startReceiver();
    smtp = await startSmtp();
    hl = await startHookline({
      dialect,
      worker: true,
      ca: [rx.ca, notifyRx.ca],
      env: {
        SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
        SMTP_FROM: "Hookline <hookline@example.com>",
        HOOKLINE_NOTIFY_URL: `${notifyRx.url}/hookline-notify`,
        HOOKLINE_NOTIFY_SECRET: NOTIFY_SECRET,
        // One attempt in flight per webhook: events published while the last retry runs stay queued,
        // so cancellation can be seen to stop deliveries that were never attempted.
        HOOKLINE_WEBHOOK_CONCURRENCY: "1",
      },
    });
    await hl.project("p1", "Project One", EMAILS);
  });
  afterAll(async () => {
    await hl?.close();
    await rx?.close();
    await notifyRx?.close();
    await smtp?.close();
  });

  const db = () => hl.runtime.ctx.store.db;
  const publish = async (project: string, subject: unknown) => {
    const res = await hl.api("POST", `/api/v1/projects/${project}/events`, { event: "test-run.completed", subject });
    expect(res.status).toBe(202);
    return res.body as { id: string; deliveries: number };
  };
  const createHook = async (project: string, name: string, path: string, extra: Record<string, unknown> = {}) => {
    const res = await hl.api("POST", `/api/v1/projects/${project}/webhooks`, { name, events: ["test-run.completed"], url: rx.url + path, ...extra });
    expect(res.status).toBe(201);
    return res.body as { id: string };
  };
  const notifications = async (project: string) => {
    const res = await hl.api("GET", `/api/v1/projects/${project}/notifications`);
    expect(res.status).toBe(200);
    return res.body.data as any[];
  };
  const fetchHook = async (project: string, id: string) => (await hl.api("GET", `/api/v1/projects/${project}/webhooks/${id}`)).body;

  let flaky: { id: string };

  it("fails the delivery after 1 + 3 attempts spaced by the retry delays, disables the webhook and cancels its queue unsent", async () => {
    flaky = await createHook("p1", "Flaky endpoint", "/flaky", { secret: "whsec_flaky" });
    const early = [];
    for (let i = 0; i < 3; i++) early.push(await publish("p1", { id: `TR-${i}` }));
    expect(early.every((e) => e.deliveries === 1)).toBe(true);

    // While the first delivery's last attempt is in flight, more events queue up behind it.
    await eventually(() => rx.requests.find((r) => r.path === "/flaky" && attemptOf(r) === 4), 8000, "a 4th attempt");
    const late = await Promise.all([0, 1, 2].map((i) => publish("p1", { id: `TR-late-${i}` })));
    expect(late.every((e) => e.deliveries === 1)).toBe(true);

    const hook = await eventually(
      async () => {
        const h = await fetchHook("p1", flaky.id);
        return h.enabled === false ? h : undefined;
      },
      8000,
      "the webhook to be disabled",
    );
    expect(hook).toMatchObject({ enabled: false, disabled_reason: "failures" });
    expect(hook.disabled_at).toMatch(ISO);
    const sentAtDisable = rx.requests.filter((r) => r.path === "/flaky").length;
    await sleep(RETRY_DELAYS_MS.reduce((a, b) => a + b) + 300); // longer than a whole retry schedule

    const rows = await db().selectFrom("deliveries").selectAll().where("webhook_id", "=", flaky.id).orderBy("id").execute();
    expect(rows).toHaveLength(6);
    const failed = rows.filter((d) => d.status === "failed");
    expect(failed).toHaveLength(1);
    expect(failed[0].attempts).toBe(4);
    const others = rows.filter((d) => d.id !== failed[0].id);
    expect(others.map((d) => d.status)).toEqual(Array(5).fill("cancelled"));

    // Exactly 1 + 3 attempts of the failed delivery, each retry at least its delay after the previous one.
    const attempts = rx.requests.filter((r) => deliveryOf(r) === failed[0].id);
    expect(attempts.map(attemptOf)).toEqual([1, 2, 3, 4]);
    for (let i = 1; i < attempts.length; i++) {
      const gap = attempts[i].receivedAt.getTime() - attempts[i - 1].receivedAt.getTime();
      expect(gap, `gap before attempt ${i + 1}`).toBeGreaterThanOrEqual(RETRY_DELAYS_MS[i - 1]);
    }
    const logs = (await hl.api("GET", `/api/v1/projects/p1/webhooks/${flaky.id}/logs?limit=100`)).body.data as any[];
    expect(logs.filter((l) => l.delivery_id === failed[0].id).map((l) => [l.attempt, l.success, l.status_code])).toEqual([
      [4, false, 500],
      [3, false, 500],
      [2, false, 500],
      [1, false, 500],
    ]);

    // Nothing more was sent once the webhook was disabled; the late events were never attempted at all.
    expect(rx.requests.filter((r) => r.path === "/flaky")).toHaveLength(sentAtDisable);
    const lateIds = new Set(late.map((e) => e.id));
    expect(rx.requests.filter((r) => lateIds.has(JSON.parse(r.body).id))).toEqual([]);
    for (const d of rows.filter((d) => lateIds.has(d.event_id))) expect(d.attempts).toBe(0);
    // A new event is not even queued for the disabled webhook.
    expect((await publish("p1", { id: "TR-after" })).deliveries).toBe(0);
  });

  it("lists a webhook.disabled notification, newest first, and marks it read", async () => {
    const [n] = await eventually(async () => {
      const list = await notifications("p1");
      return list.length ? list : undefined;
    });
    expect(n).toMatchObject({ project_id: "p1", kind: "webhook.disabled", webhook_id: flaky.id, read_at: null });
    expect(n.id).toMatch(/^ntf_[0-9a-z]{26}$/);
    expect(n.created_at).toMatch(ISO);
    expect(n.message).toContain("Flaky endpoint");
    expect(Object.keys(n).sort()).toEqual(["created_at", "id", "kind", "message", "project_id", "read_at", "webhook_id"]);

    const read = await hl.api("POST", `/api/v1/projects/p1/notifications/${n.id}/read`);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ id: n.id, kind: "webhook.disabled" });
    expect(read.body.read_at).toMatch(ISO);
    expect((await notifications("p1"))[0].read_at).toBe(read.body.read_at);

    // A second auto-disable in the same project comes first in the list.
    const second = await createHook("p1", "Second endpoint", "/second");
    await publish("p1", { id: "TR-second" });
    const list = await eventually(
      async () => {
        const l = await notifications("p1");
        return l.length === 2 ? l : undefined;
      },
      8000,
      "a second notification",
    );
    expect(list.map((x) => x.webhook_id)).toEqual([second.id, flaky.id]);
    expect(list[0].read_at).toBeNull();
  });

  it("e-mails the project's notification_emails through SMTP_URL, naming the webhook", async () => {
    const mail = await eventually(() => smtp.mails.find((m) => m.raw.includes("Flaky endpoint")), 8000, "the e-mail");
    expect([...mail.to].sort()).toEqual([...EMAILS].sort());
    expect(mail.from).toBe("hookline@example.com");
    expect(header(mail.raw, "To")).toBe(EMAILS.join(", "));
    expect(header(mail.raw, "Subject")).toBe('[Hookline] Webhook "Flaky endpoint" was disabled after repeated failures');
    expect(mail.raw).toContain("Webhook: Flaky endpoint");
    expect(smtp.mails.filter((m) => m.raw.includes("Flaky endpoint"))).toHaveLength(1);
  });

  it("POSTs a signed webhook.disabled callback to HOOKLINE_NOTIFY_URL (trusting the runtime's CAs)", async () => {
    const [n] = (await notifications("p1")).filter((x) => x.webhook_id === flaky.id);
    const req = await eventually(
      () => notifyRx.requests.find((r) => r.headers["hookline-delivery"] === n.id),
      8000,
      "the operator callback (if none arrives, check that the outbox trusts the runtime's `ca` like the Sender does)",
    );
    expect(req.method).toBe("POST");
    expect(req.path).toBe("/hookline-notify");
    expect(req.headers["content-type"]).toBe("application/json");
    expect(req.headers["hookline-event"]).toBe("webhook.disabled");
    expect(req.headers["webhook-id"]).toBe(n.id);
    const body = JSON.parse(req.body);
    expect(body).toMatchObject({ id: n.id, event: "webhook.disabled", project_id: "p1" });
    expect(body.subject.notification).toMatchObject({ id: n.id, webhook_id: flaky.id, kind: "webhook.disabled" });
    expect(body.subject.webhook).toMatchObject({ id: flaky.id, name: "Flaky endpoint", enabled: false, disabled_reason: "failures" });
    expect(JSON.stringify(body)).not.toContain("whsec_flaky");

    // Signed like deliveries: hex HMAC checked by openssl, Standard Webhooks by the reference library.
    expect(req.headers["signature"]).toBe(opensslHmac(NOTIFY_SECRET, req.body));
    const headers = req.headers as Record<string, string>;
    expect(() => new Webhook(NOTIFY_SECRET, { format: "raw" }).verify(req.body, headers)).not.toThrow();
    expect(() => new Webhook("some-other-secret", { format: "raw" }).verify(req.body, headers)).toThrow();
    expect(() => new Webhook(NOTIFY_SECRET, { format: "raw" }).verify(req.body.replace("p1", "p2"), headers)).toThrow();
  });

  it("never disables on failing Test and Redeliver attempts", async () => {
    await hl.project("p2", "Project Two", EMAILS);
    const probe = await createHook("p2", "Probe", "/probe");
    probeStatus.value = 200;
    const evt = await publish("p2", { id: "TR-probe" });
    const ok = await eventually(async () => (await hl.api("GET", `/api/v1/projects/p2/webhooks/${probe.id}/logs`)).body.data[0]);
    expect(ok).toMatchObject({ success: true, trigger: "event" });

    probeStatus.value = 500;
    expect((await hl.api("POST", `/api/v1/projects/p2/webhooks/${probe.id}/test`)).status).toBe(202);
    expect((await hl.api("POST", `/api/v1/projects/p2/webhooks/${probe.id}/logs/${ok.id}/redeliver`)).status).toBe(202);
    const failed = await eventually(async () => {
      const data = (await hl.api("GET", `/api/v1/projects/p2/webhooks/${probe.id}/logs`)).body.data as any[];
      return data.filter((l) => !l.success).length === 2 ? data : undefined;
    });
    expect(
      failed
        .filter((l) => !l.success)
        .map((l) => l.trigger)
        .sort(),
    ).toEqual(["redeliver", "test"]);
    await sleep(RETRY_DELAYS_MS.reduce((a, b) => a + b) + 300);

    // One attempt each, no retries, still enabled, nobody told.
    expect(rx.requests.filter((r) => r.path === "/probe")).toHaveLength(3);
    expect(await fetchHook("p2", probe.id)).toMatchObject({ enabled: true, disabled_reason: null });
    expect(await notifications("p2")).toEqual([]);
    expect(smtp.mails.filter((m) => m.raw.includes("Probe"))).toEqual([]);
    expect(notifyRx.requests.filter((r) => JSON.parse(r.body).project_id === "p2")).toEqual([]);
    const resent = rx.requests.filter((r) => r.path === "/probe" && r.headers["hookline-event"] === "test-run.completed");
    expect(resent.map((r) => JSON.parse(r.body).id)).toEqual([evt.id, evt.id]);
  });

  it("raises no notification for a webhook disabled by hand", async () => {
    await hl.project("p3", "Project Three", EMAILS);
    const manual = await createHook("p3", "Manual", "/manual");
    await publish("p3", { id: "TR-manual" });
    // Disable while the first (failing) attempt is in flight: its retries must not happen.
    await eventually(() => rx.requests.find((r) => r.path === "/manual"), 5000, "the first attempt");
    const patch = await hl.api("PATCH", `/api/v1/projects/p3/webhooks/${manual.id}`, { enabled: false });
    expect(patch.body).toMatchObject({ enabled: false, disabled_reason: "manual" });
    // A failing Test on the disabled webhook does not turn it into an auto-disable either.
    expect((await hl.api("POST", `/api/v1/projects/p3/webhooks/${manual.id}/test`)).status).toBe(202);
    await eventually(async () => (await hl.api("GET", `/api/v1/projects/p3/webhooks/${manual.id}/logs`)).body.data.length === 2, 5000, "two log entries");
    await sleep(RETRY_DELAYS_MS.reduce((a, b) => a + b) + 300);

    const events = rx.requests.filter((r) => r.path === "/manual" && r.headers["hookline-event"] === "test-run.completed");
    expect(events.map(attemptOf)).toEqual([1]);
    const [row] = await db().selectFrom("deliveries").selectAll().where("webhook_id", "=", manual.id).where("trigger", "=", "event").execute();
    expect(row.status).toBe("cancelled");
    expect(await fetchHook("p3", manual.id)).toMatchObject({ enabled: false, disabled_reason: "manual" });
    expect(await notifications("p3")).toEqual([]);
    expect(smtp.mails.filter((m) => m.raw.includes("Webhook: Manual"))).toEqual([]);
    expect(notifyRx.requests.filter((r) => JSON.parse(r.body).project_id === "p3")).toEqual([]);
  });
});

describe.each(WITH_POOLER)("notification outbox retry (%s)", (dialect) => {
  it("sends the e-mail once an SMTP server that was down comes up", async () => {
    const rx = await startReceiver({ respond: { status: 500 } });
    const port = await freePort();
    // The outbox backs off 5 s after a failure; an injected clock skips the wait instead of sleeping it.
    let skew = 0;
    const hl = await startHookline({ dialect, worker: true, ca: rx.ca, now: () => Date.now() + skew, env: { SMTP_URL: `smtp://127.0.0.1:${port}` } });
    let smtp: Smtp | undefined;
    try {
      await hl.project("late", "Late mail", ["owner@example.com"]);
      const hook = (await hl.api("POST", "/api/v1/projects/late/webhooks", { name: "Down mail hook", events: ["issue.created"], url: rx.url })).body;
      await hl.api("POST", "/api/v1/projects/late/events", { event: "issue.created", subject: { id: "BUG-1" } });
      const db = hl.runtime.ctx.store.db;
      const first = await eventually(
        () => db.selectFrom("notifications").selectAll().where("webhook_id", "=", hook.id).where("outbox_attempts", ">=", 1).executeTakeFirst(),
        8000,
        "a failed first e-mail attempt",
      );
      expect(first.email_state).toBe("pending");
      expect(first.outbox_run_at).toBeGreaterThan(hl.runtime.ctx.now());

      smtp = await startSmtp(port);
      skew += 6_000; // past the first backoff step
      const mail = await eventually(() => smtp!.mails[0], 5000, "the e-mail after the SMTP server came up");
      expect(mail.to).toEqual(["owner@example.com"]);
      expect(mail.raw).toContain("Webhook: Down mail hook");
      const row = await eventually(
        () => db.selectFrom("notifications").selectAll().where("webhook_id", "=", hook.id).where("email_state", "=", "sent").executeTakeFirst(),
        5000,
        "email_state sent",
      );
      expect(row.outbox_run_at).toBeNull();
    } finally {
      await hl.close();
      await rx.close();
      await smtp?.close();
    }
  });
});
