/**
 * Finding and exporting deliveries: GET …/events/{event_id}, the log's filters (from, to,
 * status_code, event_id, delivery_id, trigger; 422 naming a bad one) and the NDJSON export, which
 * streams 100,000 entries with flat memory.
 */
import v8 from "node:v8";
import vm from "node:vm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../src/domain/ids.js";
import type { LogEntryRow, Trigger } from "../../src/store/schema.js";
import { ADMIN_TOKEN, startHookline, type TestHookline } from "../helpers/hookline.js";
import { WITH_POOLER } from "../helpers/databases.js";
import { startReceiver, type Receiver } from "../helpers/receiver.js";
import { expectError, expectValidation, until } from "./support/api.js";
import { deliveryRow } from "./support/queue-rows.js";

const T0 = Date.parse("2030-05-01T00:00:00.000Z");
const MIN = 60_000;

interface Attempt {
  at: number;
  status: number | null;
  trigger?: Trigger;
  event?: string;
}

describe.each(WITH_POOLER)("log search and export (%s)", (dialect) => {
  let hl: TestHookline;
  let rx: Receiver;
  let n = 0;
  const db = () => hl.runtime.ctx.store.db;

  beforeAll(async () => {
    rx = await startReceiver({ respond: (req) => ({ status: req.path.endsWith("/fail") ? 503 : 200 }) });
    hl = await startHookline({ dialect, worker: true, ca: rx.ca });
  });
  afterAll(async () => {
    await hl?.close();
    await rx?.close();
  });

  const fresh = async (path = "/ok") => {
    const p = `ls${++n}`;
    await hl.project(p);
    const hook = (await hl.api("POST", `/api/v1/projects/${p}/webhooks`, { name: "h", events: ["issue.created", "risk.created"], url: `${rx.url}${path}` }))
      .body;
    return { p, hook: hook.id as string, base: `/api/v1/projects/${p}/webhooks/${hook.id}` };
  };

  /** One event, one delivery and its attempts, written straight to the tables (times chosen by the test). */
  async function seed(p: string, webhookId: string, attempts: Attempt[], bodyBytes = 40) {
    const first = attempts[0].at;
    const event = {
      id: newId("evt", first),
      project_id: p,
      event: attempts[0].event ?? "issue.created",
      payload: JSON.stringify({ id: "x", subject: { pad: "p".repeat(bodyBytes) } }),
      created_at: first,
    };
    await db().insertInto("events").values(event).execute();
    const delivery = deliveryRow(newId("dlv", first), event.id, webhookId, p, first, {
      trigger: attempts[0].trigger ?? "event",
      status: "failed",
      attempts: attempts.length,
    });
    await db().insertInto("deliveries").values(delivery).execute();
    const rows: LogEntryRow[] = attempts.map((a, i) => ({
      id: newId("log", a.at),
      webhook_id: webhookId,
      delivery_id: delivery.id,
      project_id: p,
      event: event.event,
      attempt: i + 1,
      trigger: a.trigger ?? "event",
      success: a.status !== null && a.status < 300 ? 1 : 0,
      status_code: a.status,
      error: a.status === null ? "Connection refused" : null,
      duration_ms: 5,
      created_at: a.at,
      request: JSON.stringify({ method: "POST", url: "https://example.com/", headers: { "hookline-attempt": String(i + 1) }, body: event.payload }),
      response: a.status === null ? null : JSON.stringify({ status: a.status, headers: {}, body: "r".repeat(bodyBytes), truncated: false }),
    }));
    for (let i = 0; i < rows.length; i += 500)
      await db()
        .insertInto("log_entries")
        .values(rows.slice(i, i + 500))
        .execute();
    return { event: event.id, delivery: delivery.id, logs: rows.map((r) => r.id) };
  }

  const ids = async (base: string, query: string) => {
    const res = await hl.api("GET", `${base}/logs?limit=100&${query}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body.data.map((l: { id: string }) => l.id) as string[];
  };

  it("GET …/events/{id}: the event, its subject and every delivery; 404 for unknown, malformed or another project's", async () => {
    const { p, hook } = await fresh();
    const second = (await hl.api("POST", `/api/v1/projects/${p}/webhooks`, { name: "h2", events: ["issue.created"], url: `${rx.url}/fail` })).body.id;
    const pub = await hl.api("POST", `/api/v1/projects/${p}/events`, { event: "issue.created", subject: { key: "ISS-1", title: "Ünïcode" } });
    const res = await until(async () => {
      const r = await hl.api("GET", `/api/v1/projects/${p}/events/${pub.body.id}`);
      return r.body.deliveries?.every((d: { attempts: number }) => d.attempts > 0) && r;
    });
    expect(Object.keys(res.body).sort()).toEqual(["created_at", "deliveries", "event", "id", "not_delivered", "subject"]);
    expect(res.body).toMatchObject({ id: pub.body.id, event: "issue.created", subject: { key: "ISS-1", title: "Ünïcode" } });
    const byHook = Object.fromEntries(res.body.deliveries.map((d: { webhook_id: string }) => [d.webhook_id, d]));
    expect(byHook[hook]).toMatchObject({ status: "succeeded", attempts: 1, trigger: "event" });
    expect(Object.keys(byHook[hook]).sort()).toEqual(["attempts", "id", "status", "trigger", "webhook_id"]);
    expect(byHook[second].trigger).toBe("event");
    expect(["pending", "failed"]).toContain(byHook[second].status);

    // Published to nobody: still stored, no deliveries.
    const lonely = await hl.api("POST", `/api/v1/projects/${p}/events`, { event: "milestone.created", subject: { id: 1 } });
    expect((await hl.api("GET", `/api/v1/projects/${p}/events/${lonely.body.id}`)).body).toMatchObject({ id: lonely.body.id, deliveries: [] });

    expectError(await hl.api("GET", `/api/v1/projects/${p}/events/evt_01jdq3v1m8x4d2k7w9c5f6g7h8`), 404, "not_found");
    expectError(await hl.api("GET", `/api/v1/projects/${p}/events/nonsense`), 404, "not_found");
    const other = await fresh();
    expectError(await hl.api("GET", `/api/v1/projects/${other.p}/events/${pub.body.id}`), 404, "not_found");
    expectError(await hl.api("GET", `/api/v1/projects/${p}/events/${pub.body.id}`, undefined, { token: null }), 401, "unauthorized");
    const portal = (await hl.api("POST", `/api/v1/projects/${other.p}/portal-sessions`, { role: "viewer" })).body.token;
    expectError(await hl.api("GET", `/api/v1/projects/${p}/events/${pub.body.id}`, undefined, { token: portal }), 404, "not_found");
    expect((await hl.api("GET", `/api/v1/projects/${other.p}/events/${pub.body.id}`, undefined, { token: portal })).status).toBe(404);
  });

  it("log entries carry event_id", async () => {
    const { p, base } = await fresh();
    const pub = await hl.api("POST", `/api/v1/projects/${p}/events`, { event: "issue.created", subject: { id: 1 } });
    const list = await until(async () => {
      const r = await hl.api("GET", `${base}/logs`);
      return r.body.data.length > 0 && r;
    });
    expect(list.body.data[0].event_id).toBe(pub.body.id);
    expect((await hl.api("GET", `${base}/logs/${list.body.data[0].id}`)).body.event_id).toBe(pub.body.id);
  });

  it("filters by from/to, status code or class, event_id, delivery_id and trigger, combined with AND", async () => {
    const { p, hook, base } = await fresh();
    const a = await seed(p, hook, [
      { at: T0, status: 500 },
      { at: T0 + 1 * MIN, status: 503 },
      { at: T0 + 2 * MIN, status: 200 },
    ]);
    const b = await seed(p, hook, [{ at: T0 + 3 * MIN, status: 404, trigger: "redeliver" }]);
    const c = await seed(p, hook, [{ at: T0 + 4 * MIN, status: null, trigger: "test", event: "test-event" }]);
    const d = await seed(p, hook, [{ at: T0 + 5 * MIN, status: 301, trigger: "recover" }]);
    const all = [...a.logs, ...b.logs, ...c.logs, ...d.logs].reverse();
    expect(await ids(base, "")).toEqual(all);

    const iso = (ms: number) => new Date(ms).toISOString();
    expect(await ids(base, `from=${iso(T0 + MIN)}&to=${iso(T0 + 3 * MIN)}`)).toEqual([b.logs[0], a.logs[2], a.logs[1]]);
    expect(await ids(base, `from=${encodeURIComponent("2030-05-01T00:04:00+00:00")}`)).toEqual([d.logs[0], c.logs[0]]);
    expect(await ids(base, `to=2030-05-01`)).toEqual([a.logs[0]]); // a date is its midnight, UTC
    expect(await ids(base, "from=1900-01-01")).toEqual(all); // before the epoch
    expect(await ids(base, "from=9999-12-31T23:59:59Z")).toEqual([]);
    expect(await ids(base, "status_code=503")).toEqual([a.logs[1]]);
    expect(await ids(base, "status_code=5xx")).toEqual([a.logs[1], a.logs[0]]);
    expect(await ids(base, "status_code=4XX")).toEqual([b.logs[0]]);
    expect(await ids(base, "status_code=2xx")).toEqual([a.logs[2]]);
    expect(await ids(base, "status_code=3xx")).toEqual([d.logs[0]]);
    expect(await ids(base, `event_id=${a.event}`)).toEqual([...a.logs].reverse());
    expect(await ids(base, `delivery_id=${b.delivery}`)).toEqual(b.logs);
    expect(await ids(base, "trigger=test")).toEqual(c.logs);
    expect(await ids(base, "trigger=recover")).toEqual(d.logs);
    expect(await ids(base, "trigger=event")).toEqual([...a.logs].reverse());
    // AND: the 5xx attempts of event a after its first attempt.
    expect(await ids(base, `event_id=${a.event}&status_code=5xx&from=${iso(T0 + 1)}`)).toEqual([a.logs[1]]);
    expect(await ids(base, `event_id=${b.event}&trigger=event`)).toEqual([]);
    expect(await ids(base, "success=true&status_code=5xx")).toEqual([]);
    // Filters page with the cursor like the plain log.
    const page1 = await hl.api("GET", `${base}/logs?limit=1&event_id=${a.event}`);
    expect(page1.body.data.map((l: { id: string }) => l.id)).toEqual([a.logs[2]]);
    const page2 = await hl.api("GET", `${base}/logs?limit=1&event_id=${a.event}&cursor=${page1.body.next_cursor}`);
    expect(page2.body.data.map((l: { id: string }) => l.id)).toEqual([a.logs[1]]);
    // Another webhook's ids find nothing here.
    const other = await fresh();
    const foreign = await seed(other.p, other.hook, [{ at: T0, status: 200 }]);
    expect(await ids(base, `event_id=${foreign.event}`)).toEqual([]);
    expect(await ids(base, `delivery_id=${foreign.delivery}`)).toEqual([]);
  });

  it("refuses bad filter values with 422 naming each parameter, on the list and the export", async () => {
    const { base } = await fresh();
    const cases: [string, string][] = [
      ["from=yesterday", "from"],
      ["from=2030-13-45T00:00:00Z", "from"],
      ["to=1700000000", "to"],
      ["from=2030-05-02&to=2030-05-01", "from"],
      ["status_code=abc", "status_code"],
      ["status_code=600", "status_code"],
      ["status_code=99", "status_code"],
      ["status_code=1xx", "status_code"],
      ["status_code=5x", "status_code"],
      ["status_code=20.0", "status_code"],
      ["event_id=evt_nope", "event_id"],
      ["event_id=dlv_01jdq3v1m8x4d2k7w9c5f6g7h8", "event_id"],
      ["delivery_id=123", "delivery_id"],
      ["trigger=retry", "trigger"],
      ["success=yes", "success"],
    ];
    for (const [query, field] of cases) {
      expectValidation(await hl.api("GET", `${base}/logs?${query}`), field);
      expectValidation(await hl.api("GET", `${base}/logs/export?${query}`), field);
    }
    expectValidation(await hl.api("GET", `${base}/logs?status_code=x&trigger=y&limit=0`), "status_code", "trigger", "limit");
    expectError(await hl.api("GET", `${base}/logs/export`, undefined, { token: null }), 401, "unauthorized");
    expectError(await hl.api("GET", `${base.replace(/wh_\w+$/, "wh_01jdq3v1m8x4d2k7w9c5f6g7h8")}/logs/export`), 404, "not_found");
  });

  it("exports the filtered log as NDJSON, newest first, with request and response", async () => {
    const { p, hook, base } = await fresh();
    const a = await seed(p, hook, [
      { at: T0, status: 500 },
      { at: T0 + MIN, status: 200 },
    ]);
    const b = await seed(p, hook, [{ at: T0 + 2 * MIN, status: 404 }]);
    const res = await fetch(`${hl.baseUrl}${base}/logs/export`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/x-ndjson/);
    expect(res.headers.get("content-disposition")).toMatch(/attachment/);
    const text = await res.text();
    expect(text.endsWith("\n")).toBe(true);
    const lines = text
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.id)).toEqual([b.logs[0], a.logs[1], a.logs[0]]);
    expect(lines[0]).toMatchObject({ event_id: b.event, delivery_id: b.delivery, status_code: 404, request: { method: "POST" }, response: { status: 404 } });
    const detail = (await hl.api("GET", `${base}/logs/${a.logs[0]}`)).body;
    expect(lines[2]).toEqual(detail);

    const filtered = await (await fetch(`${hl.baseUrl}${base}/logs/export?status_code=5xx`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).text();
    expect(
      filtered
        .trimEnd()
        .split("\n")
        .map((l) => JSON.parse(l).id),
    ).toEqual([a.logs[0]]);
    const none = await fetch(`${hl.baseUrl}${base}/logs/export?trigger=recover`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(none.status).toBe(200);
    expect(await none.text()).toBe("");
  });

  it("streams 100,000 entries with flat memory (the server's heap and RSS stay far below the export's size)", async () => {
    const { p, hook, base } = await fresh();
    const COUNT = 100_000;
    const attempts: Attempt[] = Array.from({ length: COUNT }, (_, i) => ({ at: T0 + i, status: i % 2 ? 200 : 500 }));
    // One delivery with 100,000 attempts is not realistic, but the export does not care; inserting is quick.
    await seed(p, hook, attempts, 400);
    // A full collection before each sample, so the figures are what is held, not garbage not yet collected.
    v8.setFlagsFromString("--expose-gc");
    const gc = vm.runInNewContext("gc") as () => void;
    gc();
    const before = process.memoryUsage();
    let peakHeap = before.heapUsed;
    let peakRss = before.rss;
    const res = await fetch(`${hl.baseUrl}${base}/logs/export`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let lines = 0;
    let bytes = 0;
    let tail = "";
    let first: string | null = null;
    let lastId = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.length;
      const text = tail + decoder.decode(value, { stream: true });
      const parts = text.split("\n");
      tail = parts.pop()!;
      for (const line of parts) {
        if (first === null) first = line;
        lastId = line.slice(7, 7 + 30);
        lines++;
      }
      if (lines % 10_000 < parts.length) {
        gc();
        const m = process.memoryUsage();
        peakHeap = Math.max(peakHeap, m.heapUsed);
        peakRss = Math.max(peakRss, m.rss);
      }
    }
    expect(tail).toBe("");
    expect(lines).toBe(COUNT);
    const firstEntry = JSON.parse(first!);
    expect(firstEntry.created_at).toBe(new Date(T0 + COUNT - 1).toISOString()); // newest first
    expect(firstEntry.response.body).toHaveLength(400);
    expect(lastId.startsWith("log_")).toBe(true);
    const heapGrowth = peakHeap - before.heapUsed;
    const rssGrowth = peakRss - before.rss;
    console.log(
      `export of ${COUNT} entries (${(bytes / 1e6).toFixed(0)} MB): heap +${(heapGrowth / 1e6).toFixed(1)} MB, rss +${(rssGrowth / 1e6).toFixed(1)} MB`,
    );
    // Buffered, the export would hold its whole size (135 MB) at once; streamed, a few pages.
    expect(bytes).toBeGreaterThan(100e6);
    expect(heapGrowth).toBeLessThan(40e6);
    expect(rssGrowth).toBeLessThan(80e6);
  }, 180_000);
});
