/**
 * The delivery log shows each attempt's request and response exactly as they went over the wire,
 * although an entry stores its request body only when it differs from the event's payload (it
 * refers to the event otherwise: store/logs.ts). Entries written with the body copied still read
 * the same, and retention never leaves an entry without the event it refers to.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { purgeOld } from "../../src/store/queue/purge.js";
import { storedRequest } from "../../src/store/logs.js";
import { WITH_POOLER } from "../helpers/databases.js";
import { startHookline, type TestHookline } from "../helpers/hookline.js";
import { startReceiver, type ReceivedRequest, type Receiver } from "../helpers/receiver.js";
import { eventually } from "../helpers/wait.js";

const HOUR = 3600_000;
const T0 = Date.parse("2030-05-01T08:00:00.000Z");
/** Set by the HTTP client and the connection, not by Hookline: not part of the logged request. */
const TRANSPORT_HEADERS = new Set(["host", "connection", "content-length", "transfer-encoding", "keep-alive"]);

describe.each(WITH_POOLER)("delivery log fidelity (%s)", (dialect) => {
  let hl: TestHookline;
  let rx: Receiver;
  let clock = T0;
  let status = 201;

  beforeAll(async () => {
    rx = await startReceiver({
      respond: () => ({ status, headers: { "x-reply": "yes", "content-type": "text/plain" }, body: `thanks ✓ ${status}` }),
    });
    hl = await startHookline({
      dialect,
      worker: true,
      ca: rx.ca,
      now: () => clock,
      // One retry 30 h after a failure; logs kept for one day.
      env: { HOOKLINE_LOG_RETENTION_DAYS: "1", HOOKLINE_RETRY_DELAYS: "108000" },
    });
    await hl.project("fid");
  });
  afterAll(async () => {
    await hl?.close();
    await rx?.close();
  });

  const db = () => hl.runtime.ctx.store.db;
  const hookPath = (id: string) => `/api/v1/projects/fid/webhooks/${id}`;
  const detail = async (hookId: string, logId: string) => (await hl.api("GET", `${hookPath(hookId)}/logs/${logId}`)).body;
  const logsOf = (hookId: string, n: number) =>
    eventually(
      async () => {
        const data = (await hl.api("GET", `${hookPath(hookId)}/logs?limit=100`)).body.data as any[];
        return data.length === n ? data : undefined;
      },
      8000,
      `${n} log entries`,
    );

  /** The logged request and response against what the receiver got and answered. */
  const expectSameAsWire = (entry: any, wire: ReceivedRequest, answered: number) => {
    expect(entry.request.method).toBe(wire.method);
    expect(entry.request.url).toBe(rx.url + wire.path);
    expect(entry.request.body).toBe(wire.body);
    const logged = Object.fromEntries(Object.entries(entry.request.headers as Record<string, string>).map(([k, v]) => [k.toLowerCase(), v]));
    const received = Object.fromEntries(Object.entries(wire.headers).filter(([k]) => !TRANSPORT_HEADERS.has(k)));
    expect(logged).toEqual(received);
    expect(entry.response).toMatchObject({ status: answered, body: `thanks ✓ ${answered}`, truncated: false });
    expect(entry.response.headers["x-reply"]).toBe("yes");
  };

  it("logs each attempt's request (body, headers) and response exactly as sent and answered", async () => {
    const secret = "whsec_dGhpcyBpcyBhIHRlc3Qgc2VjcmV0IGtleQ==";
    const hook = (await hl.api("POST", `/api/v1/projects/fid/webhooks`, { name: "h", events: ["test-run.completed"], url: `${rx.url}/in`, secret })).body;
    // Non-ASCII, escapes and nesting: the body must come back byte for byte.
    const subject = { id: "TR-1", name: 'Ünïcode "quoted" \\ back\nslash', list: [1, 2.5, null, { deep: true }] };
    const pub = (await hl.api("POST", "/api/v1/projects/fid/events", { event: "test-run.completed", subject })).body;
    const [wire] = await rx.waitFor(1);
    const [summary] = await logsOf(hook.id, 1);
    const entry = await detail(hook.id, summary.id);
    expect(entry.event_id).toBe(pub.id);
    expectSameAsWire(entry, wire, 201);

    // Stored without the body (the event has it), read back with it; the export agrees with the detail.
    const row = await db().selectFrom("log_entries").select("request").where("id", "=", summary.id).executeTakeFirstOrThrow();
    expect(JSON.parse(row.request)).not.toHaveProperty("body");
    const exported = (await hl.api("GET", `${hookPath(hook.id)}/logs/export`)).body;
    const lines = (typeof exported === "string" ? exported : JSON.stringify(exported)).trim().split("\n");
    expect(JSON.parse(lines[0])).toEqual(entry);

    // A Test attempt and a Redeliver: their bodies are their events' payloads too.
    rx.clear();
    await hl.api("POST", `${hookPath(hook.id)}/test`);
    await hl.api("POST", `${hookPath(hook.id)}/logs/${summary.id}/redeliver`);
    const sent = await rx.waitFor(2);
    const entries = await logsOf(hook.id, 3);
    for (const e of entries.slice(0, 2)) {
      const full = await detail(hook.id, e.id);
      const w = sent.find((r) => r.headers["hookline-delivery"] === full.delivery_id)!;
      expectSameAsWire(full, w, 201);
    }
    const redelivered = sent.find((r) => r.headers["hookline-event"] === "test-run.completed")!;
    expect(redelivered.body).toBe(wire.body);
  });

  it("reads entries written with the body copied in, and keeps a body that differs from the payload", async () => {
    const hook = (await hl.api("GET", "/api/v1/projects/fid/webhooks")).body.data[0];
    const [newest] = await logsOf(hook.id, 3);
    const source = await db().selectFrom("log_entries").selectAll().where("id", "=", newest.id).executeTakeFirstOrThrow();
    const shown = await detail(hook.id, newest.id);
    // As entries were stored before: the whole request, body included (here one that is not the payload).
    const old = { ...source, id: "log_00000000000000000000000001", request: JSON.stringify({ ...shown.request, body: "an older body" }) };
    await db().insertInto("log_entries").values(old).execute();
    const read = await detail(hook.id, old.id);
    expect(read.request).toEqual({ ...shown.request, body: "an older body" });
    expect(Object.keys(read.request)).toEqual(["method", "url", "headers", "body"]);
    await db().deleteFrom("log_entries").where("id", "=", old.id).execute();

    const request = { method: "POST", url: "https://x.test/", headers: { a: "1" }, body: "{}" };
    expect(JSON.parse(storedRequest(request, "{}"))).toEqual({ method: "POST", url: "https://x.test/", headers: { a: "1" } });
    expect(storedRequest(request, '{"other":1}')).toBe(JSON.stringify(request));
  });

  it("keeps the event an entry refers to until the entry is purged", async () => {
    const hook = (await hl.api("POST", `/api/v1/projects/fid/webhooks`, { name: "r", events: ["issue.created"], url: `${rx.url}/retry` })).body;
    rx.clear();
    status = 500;
    const pub = (await hl.api("POST", "/api/v1/projects/fid/events", { event: "issue.created", subject: { id: "I-1" } })).body;
    const [first] = await rx.waitFor(1);
    await logsOf(hook.id, 1);
    // 30 h later the retry succeeds; 36 h after the publish the first attempt's entry is past retention.
    status = 201;
    clock = T0 + 30 * HOUR + 1000;
    const [, second] = await rx.waitFor(2);
    const [kept] = await logsOf(hook.id, 2);
    clock = T0 + 36 * HOUR;
    const purged = await purgeOld(db(), { now: clock, logRetentionDays: 1 });
    expect(purged.logEntries).toBeGreaterThanOrEqual(1);
    expect(await db().selectFrom("events").select("id").where("id", "=", pub.id).executeTakeFirst()).toBeDefined();
    expect((await logsOf(hook.id, 1))[0].id).toBe(kept.id);
    const entry = await detail(hook.id, kept.id);
    expect(entry.event_id).toBe(pub.id);
    expectSameAsWire(entry, second, 201);
    expect(entry.request.body).toBe(first.body);

    // Once its last entry goes, the finished delivery and then the event go too.
    clock = T0 + 60 * HOUR;
    const later = await purgeOld(db(), { now: clock, logRetentionDays: 1 });
    expect(later.logEntries).toBeGreaterThanOrEqual(1);
    expect(await db().selectFrom("events").select("id").where("id", "=", pub.id).executeTakeFirst()).toBeUndefined();
  });
});
