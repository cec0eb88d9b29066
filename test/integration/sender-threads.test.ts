/**
 * Attempts are signed and sent from sender threads (src/delivery/sender-threads.ts): the delivery log
 * shows exactly the request the receiver got, secrets sealed at rest are opened in the thread, and a
 * thread that dies mid-load loses no delivery (its attempts are given back and made again).
 */
import crypto from "node:crypto";
import fs from "node:fs";
import pino from "pino";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DIALECTS } from "../helpers/databases.js";
import { startHookline, type TestHookline } from "../helpers/hookline.js";
import { startReceiver, type Receiver } from "../helpers/receiver.js";
import { eventually } from "../helpers/wait.js";

/** Headers the HTTP client adds on its own: not part of what Hookline builds and logs. */
const TRANSPORT = new Set(["host", "content-length", "connection"]);

describe.each(DIALECTS)("sender threads (%s)", (dialect) => {
  let rx: Receiver;
  let hl: TestHookline;
  const lines: Array<Record<string, unknown>> = [];
  let n = 0;

  beforeAll(async () => {
    rx = await startReceiver();
    const logger = pino({ level: "info" }, { write: (s: string) => void lines.push(JSON.parse(s)) });
    hl = await startHookline({
      dialect,
      worker: true,
      ca: rx.ca,
      logger,
      env: {
        HOOKLINE_ENCRYPTION_KEY: crypto.randomBytes(32).toString("base64"),
        HOOKLINE_SENDER_THREADS: "2",
        HOOKLINE_RETRY_DELAYS: "",
        // Leases of crashed attempts would expire only after 15 s: the test waits 10 s, so they must be given back.
        HOOKLINE_TIMEOUT_MS: "10000",
      },
    });
  });
  afterAll(async () => {
    await hl?.close();
    await rx?.close();
  });

  async function project(): Promise<string> {
    const id = `st${++n}`;
    await hl.project(id);
    return id;
  }

  it("logs exactly the headers and body the receiver got, every signature included", async () => {
    rx.clear();
    rx.respondWith({ status: 200 });
    const p = await project();
    const base = `/api/v1/projects/${p}/webhooks`;
    const created = await hl.api("POST", base, { name: "signed", events: ["issue.created"], url: `${rx.url}/signed`, secret: "whsec_old" });
    expect(created.status).toBe(201);
    const hook = created.body.id as string;
    // Three signers, all sealed at rest: the new secret, the rotated-out one, and the Ed25519 key.
    expect((await hl.api("POST", `${base}/${hook}/secret/rotate`, { secret: "whsec_new", previous_valid_seconds: 600 })).status).toBe(200);
    expect((await hl.api("POST", `${base}/${hook}/signing-key`)).status).toBe(200);
    await hl.api("POST", `/api/v1/projects/${p}/events`, { event: "issue.created", subject: { id: 7, title: "Ünïcode ✓" } });

    const [req] = await rx.waitFor(1);
    const entry = await eventually(async () => (await hl.api("GET", `${base}/${hook}/logs`)).body.data[0]);
    const detail = (await hl.api("GET", `${base}/${hook}/logs/${entry.id}`)).body;
    expect(detail.request.body).toBe(req.body);
    const logged = Object.fromEntries(Object.entries(detail.request.headers as Record<string, string>).map(([k, v]) => [k.toLowerCase(), v]));
    const received = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !TRANSPORT.has(k)));
    expect(logged).toEqual(received);
    const values = String(received["webhook-signature"]).split(" ");
    expect(values.map((v) => v.slice(0, v.indexOf(",")))).toEqual(["v1", "v1", "v1a"]);
    for (const secret of ["whsec_new", "whsec_old"]) {
      expect(() => new Webhook(Buffer.from(secret).toString("base64")).verify(req.body, req.headers as Record<string, string>), secret).not.toThrow();
    }
  });

  it.skipIf(!fs.existsSync("/proc/self/task"))("names each sender thread hookline-send-N in the OS (top -H, perf and the bench tell them apart by it)", () => {
    const names = fs.readdirSync("/proc/self/task").map((tid) => fs.readFileSync(`/proc/self/task/${tid}/comm`, "utf8").trim());
    expect(names).toEqual(expect.arrayContaining(["hookline-send-0", "hookline-send-1"]));
  });

  it("loses no delivery when a sender thread dies mid-load: its attempts are made again and the thread restarted", async () => {
    rx.clear();
    rx.respondWith({ status: 200, delayMs: 300 });
    const p = await project();
    const hooks: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await hl.api("POST", `/api/v1/projects/${p}/webhooks`, { name: `h${i}`, events: ["issue.created"], url: `${rx.url}/crash/${i}` });
      hooks.push(res.body.id);
    }
    const events = 40;
    for (let i = 0; i < events; i++) await hl.api("POST", `/api/v1/projects/${p}/events`, { event: "issue.created", subject: { id: i } });
    const threads = hl.runtime.senderThreads!;
    expect(threads.threads).toHaveLength(2);
    await rx.waitFor(10, 10_000); // attempts are in flight on both threads (the receiver answers after 300 ms)
    // A webhook's attempts all go to one thread: kill the one the first webhook's are on.
    const victim = threads.threadFor(hooks[0])!;
    await victim.terminate();

    const db = hl.runtime.ctx.store.db;
    const settled = async () => {
      const rows = await db.selectFrom("deliveries").select(["id", "status", "attempts"]).where("webhook_id", "in", hooks).execute();
      return rows.length === events * hooks.length && rows.every((r) => r.status !== "pending") ? rows : null;
    };
    const rows = await eventually(settled, 10_000, "every delivery settled");
    expect(rows.filter((r) => r.status !== "succeeded")).toEqual([]);
    // Every delivery reached the receiver (an attempt cut short may have arrived twice: at-least-once).
    const arrived = new Set(rx.requests.filter((r) => r.path.startsWith("/crash/")).map((r) => r.headers["hookline-delivery"]));
    expect(arrived.size).toBe(events * hooks.length);
    // One logged attempt per delivery: the attempts the dead thread held were given back, not recorded.
    const logged = await db.selectFrom("log_entries").select(["delivery_id", "success"]).where("webhook_id", "in", hooks).execute();
    expect(logged).toHaveLength(events * hooks.length);
    expect(logged.every((l) => Boolean(l.success))).toBe(true);
    expect(rows.every((r) => Number(r.attempts) === 1)).toBe(true);

    const exit = lines.find((l) => String(l.msg).startsWith("sender thread exited"));
    expect(exit, "the death is logged").toBeDefined();
    expect(Number(exit!.in_flight)).toBeGreaterThan(0);
    await eventually(() => threads.threads.length === 2 && !threads.threads.includes(victim), 5000, "the thread restarted");
  });
});

describe("a sender thread's answers", () => {
  it("answers a job it cannot read with the thread's error, and keeps sending the next ones", async () => {
    const { SenderThreads } = await import("../../src/delivery/sender-threads.js");
    const rx = await startReceiver();
    const threads = new SenderThreads({
      threads: 1,
      timeoutMs: 5000,
      urlPolicy: { allowHttp: false, allowPrivateNetworks: false, allowedCidrs: ["127.0.0.0/8"] },
      connectionsPerWebhook: 4,
      ca: rx.ca,
      keyRing: null,
      log: pino({ level: "silent" }),
    });
    try {
      const job = (deliveryId: string, headers: string | null) => ({
        webhookId: "wh_1",
        url: `${rx.url}/hook`,
        body: "{}",
        event: "e",
        deliveryId,
        attempt: 1,
        secret: "whsec_k",
        previousSecret: null,
        signingKey: null,
        headers,
        auth: null,
        authSecret: null,
        clientCert: null,
        clientKey: null,
        now: Date.now(),
      });
      // Custom headers that are not JSON: the attempt throws before anything is sent.
      await expect(threads.send(job("dlv_bad", "{not json"))).rejects.toThrow(/JSON/);
      const sent = await threads.send(job("dlv_good", JSON.stringify({ "X-Custom": "1" })));
      expect(sent.result).toMatchObject({ success: true, statusCode: 200 });
      expect(sent.headers).toMatchObject({ "Hookline-Delivery": "dlv_good", "X-Custom": "1" });
      expect(rx.requests.map((r) => r.headers["hookline-delivery"])).toEqual(["dlv_good"]);
    } finally {
      await threads.close();
      await rx.close();
    }
  });
});
