/**
 * Payload filters (docs/delivery-policies.md): validated on save with the path in the error,
 * evaluated at fan-out on every publish path (one statement, transaction, host transaction),
 * respected by recover, ignored by Test and Redeliver.
 */
import pg from "pg";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createHookline } from "../../src/index.js";
import { DIALECTS } from "../helpers/databases.js";
import { startHookline, type TestHookline } from "../helpers/hookline.js";
import { startReceiver, type Receiver } from "../helpers/receiver.js";
import { eventually, sleep } from "../helpers/wait.js";

interface Subject {
  n: number;
  status: "passed" | "failed" | "blocked";
  labels: string[];
  failed: number;
  title: string;
}

// The five webhooks' filters, and the same rules written independently as plain predicates.
const HOOKS: { path: string; filter: Record<string, unknown> | null; expect: (s: Subject) => boolean }[] = [
  { path: "/all", filter: null, expect: () => true },
  { path: "/failed", filter: { subject: { status: "failed" } }, expect: (s) => s.status === "failed" },
  { path: "/bugs", filter: { "subject.labels": "bug", "subject.failed": { $gte: 2 } }, expect: (s) => s.labels.includes("bug") && s.failed >= 2 },
  {
    path: "/either",
    filter: { $or: [{ "subject.status": { $in: ["blocked"] } }, { "subject.title": { $regex: "^urgent", $options: "i" } }] },
    expect: (s) => s.status === "blocked" || /^urgent/i.test(s.title),
  },
  { path: "/none-match", filter: { "subject.missing": { $exists: true } }, expect: () => false },
];

const subjectOf = (n: number): Subject => ({
  n,
  status: (["passed", "failed", "blocked"] as const)[n % 3],
  labels: n % 4 === 0 ? ["bug", "ui"] : n % 4 === 1 ? ["feature"] : [],
  failed: n % 5,
  title: n % 7 === 0 ? `URGENT run ${n}` : `run ${n}`,
});

describe.each(DIALECTS)("payload filters (%s)", (dialect) => {
  let hl: TestHookline;
  let rx: Receiver;
  let project: string;
  let k = 0;
  const base = () => `/api/v1/projects/${project}`;
  const create = (body: Record<string, unknown>) =>
    hl.api("POST", `${base()}/webhooks`, { name: "hook", events: ["test-run.completed"], url: `${rx.url}/h`, ...body });

  beforeAll(async () => {
    rx = await startReceiver();
    hl = await startHookline({ dialect, worker: true, ca: rx.ca, env: { HOOKLINE_MAX_ACTIVE_WEBHOOKS: "10" } });
  });
  afterAll(async () => {
    await hl?.close();
    await rx?.close();
  });
  beforeEach(async () => {
    rx.clear();
    project = `f${++k}`;
    await hl.project(project);
  });

  it("refuses a bad filter with 422 naming the path, shows a good one, and removes it with null", async () => {
    const bad = await create({ filter: { subject: { status: { $gtx: 1 } }, "subject.n": { $regex: "(a)\\1" } } });
    expect(bad.status).toBe(422);
    expect(bad.body.error.code).toBe("validation_failed");
    expect(bad.body.error.details.map((d: { field: string }) => d.field).sort()).toEqual(["filter.subject.n.$regex", "filter.subject.status.$gtx"]);
    const tooBig = await create({ filter: { "subject.title": "x".repeat(5000) } });
    expect(tooBig.status).toBe(422);
    expect(tooBig.body.error.details[0].field).toBe("filter");

    const ok = await create({ filter: { "subject.status": "failed" } });
    expect(ok.status).toBe(201);
    expect(ok.body).toMatchObject({ filter: { "subject.status": "failed" }, rate_limit: null, ordering: "none" });
    const patched = await hl.api("PATCH", `${base()}/webhooks/${ok.body.id}`, { filter: null });
    expect(patched.status).toBe(200);
    expect(patched.body.filter).toBeNull();
    const badPatch = await hl.api("PATCH", `${base()}/webhooks/${ok.body.id}`, { filter: { $where: "true" } });
    expect(badPatch.status).toBe(422);
    expect(badPatch.body.error.details[0].field).toBe("filter.$where");
  });

  it("1,000 events across 5 webhooks with different filters: each receiver gets exactly the matching set, on every publish path", async () => {
    const ids: string[] = [];
    for (const h of HOOKS) {
      const res = await create({ name: h.path, url: `${rx.url}${h.path}`, filter: h.filter });
      expect(res.status).toBe(201);
      ids.push(res.body.id);
    }
    const published: { n: number; id: string }[] = [];
    const publishOne = async (n: number) => {
      // Every third with an idempotency key: the transaction path; the rest the one-statement path (PostgreSQL).
      const headers: Record<string, string> = n % 3 === 0 ? { "idempotency-key": `${project}-${n}` } : {};
      const res = await hl.api("POST", `${base()}/events`, { event: "test-run.completed", subject: subjectOf(n) }, { headers });
      expect(res.status).toBe(202);
      published.push({ n, id: res.body.id });
    };
    for (let n = 0; n < 1000; n += 20) await Promise.all(Array.from({ length: 20 }, (_, i) => publishOne(n + i)));
    const expected = HOOKS.map((h) => Array.from({ length: 1000 }, (_, n) => n).filter((n) => h.expect(subjectOf(n))));
    const total = expected.reduce((a, l) => a + l.length, 0);
    await rx.waitFor(total, 60_000);
    await sleep(300); // nothing more arrives
    // At-least-once: an attempt that timed out under load is made again; each delivery counts once.
    const firstOfEach = [...new Map(rx.requests.map((r) => [r.headers["hookline-delivery"], r])).values()];
    for (const [i, h] of HOOKS.entries()) {
      const got = firstOfEach
        .filter((r) => r.path === h.path)
        .map((r) => (JSON.parse(r.body) as { subject: Subject }).subject.n)
        .sort((a, b) => a - b);
      expect(got, h.path).toEqual(expected[i]);
    }
    expect(firstOfEach.length).toBe(total);
    // The event lookup explains every webhook an event did not go to.
    for (let i = 0; i < published.length; i += 50) {
      await Promise.all(
        published.slice(i, i + 50).map(async ({ n, id }) => {
          const detail = (await hl.api("GET", `${base()}/events/${id}`)).body;
          const missed = HOOKS.flatMap((h, j) => (h.expect(subjectOf(n)) ? [] : [{ webhook_id: ids[j], reason: "filtered" }]));
          expect(detail.not_delivered, `event ${n}`).toEqual(missed);
          expect(detail.deliveries.length + detail.not_delivered.length).toBe(HOOKS.length);
        }),
      );
    }
  }, 120_000);

  it("not_delivered says why: not subscribed, disabled, filtered", async () => {
    const other = (await create({ events: ["issue.created"] })).body;
    const off = (await create({ enabled: false })).body;
    const filtered = (await create({ filter: { "subject.status": "blocked" } })).body;
    const got = (await create({})).body;
    const res = await hl.api("POST", `${base()}/events`, { event: "test-run.completed", subject: subjectOf(1) });
    const detail = (await hl.api("GET", `${base()}/events/${res.body.id}`)).body;
    expect(detail.deliveries.map((d: { webhook_id: string }) => d.webhook_id)).toEqual([got.id]);
    expect(detail.not_delivered).toEqual([
      { webhook_id: other.id, reason: "not_subscribed" },
      { webhook_id: off.id, reason: "disabled" },
      { webhook_id: filtered.id, reason: "filtered" },
    ]);
    // A webhook created after the event did not subscribe to it then.
    const later = (await create({})).body;
    const again = (await hl.api("GET", `${base()}/events/${res.body.id}`)).body;
    expect(again.not_delivered).toContainEqual({ webhook_id: later.id, reason: "not_subscribed" });
  });

  it("Try filter: says whether the event type's example matches, and refuses a bad filter by its path", async () => {
    const example = (await hl.api("GET", "/api/v1/event-types")).body.data.find((t: { name: string }) => t.name === "test-run.completed").example;
    const [key, value] = Object.entries(example as Record<string, unknown>).find(([, v]) => typeof v === "string")!;
    const tryIt = (filter: unknown, event = "test-run.completed") => hl.api("POST", `${base()}/webhooks/filter-test`, { event, filter });
    const yes = await tryIt({ [`subject.${key}`]: value });
    expect(yes.status).toBe(200);
    expect(yes.body.matches).toBe(true);
    expect(yes.body.body).toMatchObject({ event: "test-run.completed", project_id: project, subject: example });
    expect((await tryIt({ [`subject.${key}`]: `${value as string}-not` })).body.matches).toBe(false);
    const bad = await tryIt({ subject: { [key]: { $gtx: 1 } } });
    expect(bad.status).toBe(422);
    expect(bad.body.error.details[0].field).toBe(`filter.subject.${key}.$gtx`);
    const unknown = await tryIt({ event: "x" }, "no.such-event");
    expect(unknown.status).toBe(422);
    expect(unknown.body.error.details[0].field).toBe("event");
  });

  it("uses a filter's new value at once, on the one-statement path too", async () => {
    const hook = await create({ url: `${rx.url}/changing`, filter: { "subject.status": "failed" } });
    const publish = (n: number) => hl.api("POST", `${base()}/events`, { event: "test-run.completed", subject: subjectOf(n) });
    await publish(1); // failed: delivered
    await publish(0); // passed: filtered
    await hl.api("PATCH", `${base()}/webhooks/${hook.body.id}`, { filter: { "subject.status": "passed" } });
    await publish(3); // passed: delivered now
    await publish(4); // failed: filtered now
    // Only this webhook's path: an earlier test's retry (at-least-once) may still land on the receiver.
    const received = () => rx.requests.filter((r) => r.path === "/changing").map((r) => JSON.parse(r.body).subject.n);
    await eventually(() => received().length >= 2, 5000, "2 deliveries to /changing");
    await sleep(300);
    expect(received()).toEqual([1, 3]);
  });

  it("recover respects the current filter; Test and Redeliver ignore it", async () => {
    const hook = (await create({ url: `${rx.url}/r`, filter: { "subject.status": "failed" } })).body;
    await hl.api("PATCH", `${base()}/webhooks/${hook.id}`, { enabled: false });
    const since = new Date(Date.now() - 1000).toISOString();
    for (const n of [0, 1, 2, 4]) await hl.api("POST", `${base()}/events`, { event: "test-run.completed", subject: subjectOf(n) });
    await hl.api("PATCH", `${base()}/webhooks/${hook.id}`, { enabled: true });
    const rec = await hl.api("POST", `${base()}/webhooks/${hook.id}/recover`, { since });
    expect(rec.body).toEqual({ deliveries: 2 }); // 1 and 4 are failed runs
    const recovered = () => rx.requests.filter((r) => r.path === "/r").map((r) => JSON.parse(r.body).subject.n);
    await eventually(() => recovered().length >= 2, 5000, "2 recovered deliveries");
    expect(recovered().sort()).toEqual([1, 4]);

    rx.clear();
    const test = await hl.api("POST", `${base()}/webhooks/${hook.id}/test`);
    expect(test.status).toBe(202);
    const t = await eventually(() => rx.requests.find((q) => q.path === "/r"), 5000, "the test event");
    expect(JSON.parse(t.body).event).toBe("test-event");

    // The filter changes so that event 1 no longer matches; Redeliver sends it all the same.
    await hl.api("PATCH", `${base()}/webhooks/${hook.id}`, { filter: { "subject.status": "blocked" } });
    const logs = (await hl.api("GET", `${base()}/webhooks/${hook.id}/logs?event=test-run.completed`)).body.data as { id: string }[];
    rx.clear();
    const again = await hl.api("POST", `${base()}/webhooks/${hook.id}/logs/${logs[0].id}/redeliver`);
    expect(again.status).toBe(202);
    const r = await eventually(() => rx.requests.find((q) => q.path === "/r"), 5000, "the redelivery");
    expect(JSON.parse(r.body).subject.status).toBe("failed");
  });

  it.skipIf(dialect !== "postgres")("filters the host-transaction publish too", async () => {
    const matching = (await create({ url: `${rx.url}/tx-yes`, filter: { "subject.status": "failed" } })).body;
    await create({ url: `${rx.url}/tx-no`, filter: { "subject.status": "blocked" } });
    const hookline = await createHookline({
      databaseUrl: hl.db.url,
      adminToken: "test-admin-token-0123456789abcdef",
      secretKey: "test-secret-key-0123456789abcdef0123456789",
      allowPrivateNetworks: ["127.0.0.0/8"],
      logLevel: "silent",
    });
    const client = new pg.Client({ connectionString: hl.db.url });
    await client.connect();
    try {
      await client.query("begin");
      const res = await hookline.publish(project, "test-run.completed", subjectOf(1), { client });
      await client.query("commit");
      expect(res.deliveries).toBe(1);
      const [req] = await rx.waitFor(1);
      expect(req.path).toBe("/tx-yes");
      const detail = await hl.api("GET", `${base()}/events/${res.id}`);
      expect(detail.body.deliveries.map((d: { webhook_id: string }) => d.webhook_id)).toEqual([matching.id]);
    } finally {
      await client.end();
      await hookline.close();
    }
  });
});
