/**
 * Scaled out (SPEC "Scaled out"): two `hookline serve --no-worker` API processes and four
 * `hookline worker` processes on one PostgreSQL database, delivering to a real TLS receiver that
 * deduplicates on Hookline-Delivery.
 * - 10,000 deliveries (2,000 events × 5 webhooks, published through both API nodes): every one
 *   arrives, and no attempt is ever sent twice. (An attempt that fails, e.g. times out on a
 *   starved machine, is retried as the next attempt number; on an idle machine nothing fails and
 *   each delivery arrives exactly once. The figures line reports the retries.)
 * - A worker killed with SIGKILL mid-run: every delivery still arrives (its leases expire after
 *   timeout + 5 s and other workers take them over); the only duplicates are attempts that were in
 *   flight in the killed worker.
 * Serial project (vitest.config.ts): runs alone, after the other suites.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { createTestDatabase, databaseEnv, DIALECTS, POSTGRES_VARIANTS, postgresAvailable, type TestDatabase } from "../helpers/databases.js";
import { nodeEnv, nodeWarnings, startNodes, stopNodes, type HooklineNode } from "../helpers/nodes.js";
import { startReceiver, type ReceivedRequest, type Receiver } from "../helpers/receiver.js";
import { eventually, sleep } from "../helpers/wait.js";

const pgEnabled = postgresAvailable && DIALECTS.includes("postgres");
const WEBHOOK_CONCURRENCY = 16; // HOOKLINE_WEBHOOK_CONCURRENCY default: attempts in flight per webhook per worker

/** Publishes `count` events through the API nodes in turn, `parallel` requests in flight. */
async function publishAll(apis: HooklineNode[], project: string, count: number, parallel: number): Promise<string[]> {
  const ids: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async (_, lane) => {
      for (let i = next++; i < count; i = next++) {
        const res = await apis[(i + lane) % apis.length].call("POST", `/api/v1/projects/${project}/events`, { event: "test-run.completed", subject: { n: i } });
        if (res.status !== 202) throw new Error(`publish ${i}: ${res.status} ${JSON.stringify(res.body)}`);
        ids.push(res.body.id);
      }
    }),
  );
  return ids;
}

/** Received requests by path prefix ("/scale/", "/crash/"), then by Hookline-Delivery; kept as they arrive. */
const received = new Map<string, Map<string, ReceivedRequest[]>>();
function track(r: ReceivedRequest): void {
  const prefix = r.path.slice(0, r.path.indexOf("/", 1) + 1);
  const byId = received.get(prefix) ?? new Map<string, ReceivedRequest[]>();
  received.set(prefix, byId);
  const id = String(r.headers["hookline-delivery"]);
  byId.set(id, [...(byId.get(id) ?? []), r]);
}
const deliveredTo = (prefix: string) => received.get(prefix) ?? new Map<string, ReceivedRequest[]>();
const attemptOf = (r: ReceivedRequest) => Number(r.headers["hookline-attempt"]);

describe.skipIf(!pgEnabled).each(POSTGRES_VARIANTS)("scale-out: 2 API and 4 worker processes on one PostgreSQL database (%s)", (dialect) => {
  let db: TestDatabase;
  let rx: Receiver;
  let sql: pg.Client;
  let apis: HooklineNode[] = [];
  let workers: HooklineNode[] = [];

  beforeAll(async () => {
    // Each variant counts only what its own nodes deliver.
    received.clear();
    // Crash-test endpoints answer slowly, so attempts are in flight when the worker dies.
    rx = await startReceiver({
      respond: (req) => {
        track(req);
        return req.path.startsWith("/crash/") ? { status: 200, delayMs: 100 } : { status: 200 };
      },
    });
    db = await createTestDatabase(dialect);
    // A 5 s timeout (lease 10 s) and four retries: a machine busy with other suites should see few
    // timeouts, and none should add up to an auto-disable.
    // Through PgBouncer the workers are woken over a direct LISTEN connection (HOOKLINE_PG_LISTEN_URL).
    const pooled = dialect === "pgbouncer" ? { ...databaseEnv(db), HOOKLINE_PG_LISTEN_URL: db.directUrl } : {};
    const env = nodeEnv(db.url, rx.ca, { ...pooled, HOOKLINE_TIMEOUT_MS: "5000", HOOKLINE_RETRY_DELAYS: "0.2,0.5,1,2" });
    ({ apis, workers } = await startNodes(env, { apis: 2, workers: 4 }));
    sql = new pg.Client({ connectionString: db.directUrl });
    await sql.connect();
  });
  afterAll(async () => {
    await sql?.end();
    await stopNodes([...apis, ...workers]);
    await rx?.close();
    await db?.drop();
  });

  const count = async (query: string, params: unknown[] = []) => Number((await sql.query(query, params)).rows[0].n);

  async function project(id: string, pathPrefix: string): Promise<void> {
    expect((await apis[0].call("PUT", `/api/v1/projects/${id}`, { name: id })).status).toBe(201);
    for (let i = 0; i < 5; i++) {
      const res = await apis[i % 2].call("POST", `/api/v1/projects/${id}/webhooks`, {
        name: `w${i}`,
        events: ["test-run.completed"],
        url: `${rx.url}${pathPrefix}${i}`,
        secret: `s3cret-${i}`,
      });
      expect(res.status).toBe(201);
    }
  }

  it("delivers 10,000 deliveries (2,000 events × 5 webhooks via both API nodes): none lost, no attempt sent twice", async () => {
    onTestFailed(() => console.log(nodeWarnings([...apis, ...workers])));
    await project("scale", "/scale/");
    const started = Date.now();
    const eventIds = await publishAll(apis, "scale", 2000, 32);
    const published = Date.now();
    await eventually(() => deliveredTo("/scale/").size >= 10_000, 150_000, "10,000 distinct deliveries");
    const delivered = Date.now();
    await sleep(1500); // late duplicates, if any, would arrive now

    const seen = deliveredTo("/scale/");
    expect(seen.size).toBe(10_000);
    // Two workers never make the same attempt: each request of a delivery has its own attempt number.
    const repeated = [...seen].filter(([, l]) => new Set(l.map(attemptOf)).size !== l.length).map(([id]) => id);
    expect(repeated).toEqual([]);
    const retried = [...seen.values()].filter((l) => l.length > 1);
    // Each event reached each of the five webhooks once.
    const perEvent = new Map<string, number>();
    for (const [, [r]] of seen) {
      const id = JSON.parse(r.body).id as string;
      perEvent.set(id, (perEvent.get(id) ?? 0) + 1);
    }
    expect(perEvent.size).toBe(2000);
    expect(new Set(eventIds)).toEqual(new Set(perEvent.keys()));
    expect([...perEvent.values()].every((n) => n === 5)).toBe(true);
    // And the database agrees: all succeeded, one successful log entry each, and a delivery was sent
    // more than once only after a failed attempt was logged.
    await eventually(
      async () => (await count("select count(*) as n from deliveries where project_id = 'scale' and status = 'succeeded'")) === 10_000,
      10_000,
      "10,000 recorded",
    );
    expect(await count("select count(*) as n from log_entries where project_id = 'scale' and success = 1")).toBe(10_000);
    const failedAttempts = await count("select count(*) as n from log_entries where project_id = 'scale' and success = 0");
    expect(retried.reduce((n, l) => n + l.length - 1, 0)).toBeLessThanOrEqual(failedAttempts);

    const figures = {
      deliveries: 10_000,
      publish_seconds: (published - started) / 1000,
      events_per_second_published: Math.round(2000 / ((published - started) / 1000)),
      total_seconds: (delivered - started) / 1000,
      deliveries_per_second: Math.round(10_000 / ((delivered - started) / 1000)),
      failed_attempts_retried: failedAttempts,
    };
    console.log(`scale-out figures: ${JSON.stringify(figures)}`);
    for (const n of [...apis, ...workers]) expect(n.alive).toBe(true);
  });

  it("a worker killed with SIGKILL mid-run: everything arrives, duplicates only from its in-flight attempts", async () => {
    onTestFailed(() => console.log(nodeWarnings([...apis, ...workers])));
    await project("crash", "/crash/");
    const total = 400 * 5;
    const publishing = publishAll(apis, "crash", 400, 16);
    await eventually(() => deliveredTo("/crash/").size >= total / 4, 60_000, "a quarter of the deliveries");
    const victim = workers[0];
    await victim.kill();
    const killedAt = Date.now();
    await publishing;
    // The victim's leases expire after HOOKLINE_TIMEOUT_MS + 5 s; the other workers then retry them.
    await eventually(() => deliveredTo("/crash/").size >= total, 90_000, `${total} distinct deliveries`);
    await sleep(1500);

    const seen = deliveredTo("/crash/");
    expect(seen.size).toBe(total);
    // An attempt sent twice (same delivery, same attempt number) is one the killed worker had in
    // flight: its first copy arrived before the kill, and there can be at most 16 per webhook (5 webhooks).
    const repeated = [...seen.values()].filter((l) => new Set(l.map(attemptOf)).size !== l.length);
    console.log(`crash run: ${repeated.length} attempt(s) of ${total} deliveries repeated after SIGKILL of one worker`);
    expect(repeated.length).toBeLessThanOrEqual(5 * WEBHOOK_CONCURRENCY);
    for (const list of repeated) expect(list[0].receivedAt.getTime()).toBeLessThanOrEqual(killedAt);
    // Every delivery succeeded and has exactly one successful log entry: the killed worker never
    // recorded the attempts it died in.
    await eventually(
      async () => (await count("select count(*) as n from deliveries where project_id = 'crash' and status = 'succeeded'")) === total,
      15_000,
      "all recorded",
    );
    expect(await count("select count(*) as n from log_entries where project_id = 'crash' and success = 1")).toBe(total);
    expect(workers.slice(1).every((w) => w.alive)).toBe(true);
  });
});
