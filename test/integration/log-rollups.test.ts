/**
 * The hourly rollups (store/log-rollups.ts) hold exactly what counting the log gives, and the 24 h
 * stats answer what they answered when they counted the log: after random traffic over several
 * hours (successes, failures, retries, Test and Redeliver attempts), after a purge whose cutoff
 * falls inside an hour, after a webhook's deletion, and after migration 0011 counts a log that was
 * there before it.
 */
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrate } from "../../src/store/migrations.js";
import { purgeOld } from "../../src/store/queue/purge.js";
import { DIALECTS } from "../helpers/databases.js";
import { startHookline, type TestHookline } from "../helpers/hookline.js";
import { startReceiver, type Receiver } from "../helpers/receiver.js";
import { eventually } from "../helpers/wait.js";
import { rollupsCountedFromLog, rollupsInTable } from "./support/rollup-rows.js";

const HOUR = 3600_000;
const DAY = 24 * HOUR;
/** Two seconds before an hour starts: the first round's retries land in the next hour. */
const T0 = Date.parse("2030-06-01T07:59:58.000Z");

/** A small seeded generator (mulberry32): the same traffic mix at every run. */
function seeded(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The stats as they were computed from the log before the rollups: nearest-rank percentiles over every attempt. */
function statsFromLog(entries: { created_at: number; success: number; duration_ms: number }[], now: number, hours: number) {
  const firstStart = Math.floor(now / HOUR) * HOUR - (hours - 1) * HOUR;
  const buckets = Array.from({ length: hours }, (_, i) => ({ start: firstStart + i * HOUR, succeeded: 0, failed: 0, durations: [] as number[] }));
  for (const r of entries) {
    const b = buckets[Math.floor((Number(r.created_at) - firstStart) / HOUR)];
    if (!b) continue;
    if (r.success === 1) b.succeeded++;
    else b.failed++;
    b.durations.push(r.duration_ms);
  }
  return buckets.map((b) => {
    const sorted = b.durations.sort((x, y) => x - y);
    const pct = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] : null);
    return { start: new Date(b.start).toISOString(), succeeded: b.succeeded, failed: b.failed, p50_ms: pct(0.5), p95_ms: pct(0.95) };
  });
}

describe.each(DIALECTS)("hourly log rollups (%s)", (dialect) => {
  let hl: TestHookline;
  let rx: Receiver;
  let clock = T0;
  const random = seeded(26);
  /** Failures so far per delivery: at most two, so no delivery spends its retries and disables its webhook. */
  const failures = new Map<string, number>();
  const hooks: string[] = [];

  beforeAll(async () => {
    rx = await startReceiver({
      respond: (req) => {
        const id = String(req.headers["hookline-delivery"]);
        const failed = failures.get(id) ?? 0;
        const fail = failed < 2 && random() < 0.4;
        if (fail) failures.set(id, failed + 1);
        // Durations of a few distinct milliseconds: several attempts share a rollup row.
        return { status: fail ? 500 : 200, delayMs: Math.floor(random() * 12) };
      },
    });
    hl = await startHookline({ dialect, worker: true, ca: rx.ca, now: () => clock, env: { HOOKLINE_RETRY_DELAYS: "0.5,1" } });
    await hl.project("r");
    for (let i = 0; i < 3; i++) {
      const body = { name: `h${i}`, events: ["issue.created"], url: `${rx.url}/h${i}` };
      hooks.push((await hl.api("POST", "/api/v1/projects/r/webhooks", body)).body.id);
    }
  });
  afterAll(async () => {
    await hl?.close();
    await rx?.close();
  });

  const db = () => hl.runtime.ctx.store.db;
  const tableRows = () => rollupsInTable(db());
  const countedRows = () => rollupsCountedFromLog(db());

  /** The rollups equal the log's count, and every webhook's stats (7 days) equal the stats counted from its entries. */
  async function expectExact() {
    const counted = await countedRows();
    expect(counted.length).toBeGreaterThan(0);
    expect(await tableRows()).toEqual(counted);
    for (const id of hooks) {
      const res = await hl.api("GET", `/api/v1/projects/r/webhooks/${id}/stats?hours=168`);
      if (res.status === 404) continue; // deleted
      const entries = await db().selectFrom("log_entries").select(["created_at", "success", "duration_ms"]).where("webhook_id", "=", id).execute();
      expect(res.body.buckets).toEqual(statsFromLog(entries, clock, 168));
    }
  }

  /** Moves the clock a second at a time until no delivery is queued: every retry has been attempted. */
  async function drain() {
    await eventually(
      async () => {
        const queued = await db().selectFrom("deliveries").select("id").where("status", "=", "pending").execute();
        if (queued.length === 0) return true;
        clock += 1000;
        return undefined;
      },
      30_000,
      "no delivery queued",
    );
  }

  it("equal counting the log after random traffic, retries, Test and Redeliver attempts", async () => {
    for (let round = 0; round < 6; round++) {
      clock = T0 + round * 47 * 60_000;
      const events = 2 + Math.floor(random() * 4);
      for (let i = 0; i < events; i++) await hl.api("POST", "/api/v1/projects/r/events", { event: "issue.created", subject: { id: `I-${round}-${i}` } });
      await hl.api("POST", `/api/v1/projects/r/webhooks/${hooks[round % 3]}/test`);
      await drain();
      // Redeliver two logged attempts of some webhook (Redeliver answers 202 and queues a new delivery).
      const hook = hooks[Math.floor(random() * 3)];
      const logged = (await hl.api("GET", `/api/v1/projects/r/webhooks/${hook}/logs?limit=100`)).body.data as { id: string }[];
      for (let i = 0; i < 2; i++) {
        const res = await hl.api("POST", `/api/v1/projects/r/webhooks/${hook}/logs/${logged[Math.floor(random() * logged.length)].id}/redeliver`);
        expect(res.status).toBe(202);
      }
      await drain();
    }
    // The traffic had every kind of attempt the rollups must count.
    const kinds = await db().selectFrom("log_entries").select(["trigger", "success", "attempt", "created_at"]).execute();
    expect(new Set(kinds.map((k) => k.trigger))).toEqual(new Set(["event", "test", "redeliver"]));
    expect(kinds.some((k) => k.success === 0)).toBe(true);
    expect(kinds.some((k) => k.attempt > 1)).toBe(true);
    expect(new Set(kinds.map((k) => Math.floor(Number(k.created_at) / HOUR))).size).toBeGreaterThanOrEqual(5);
    await expectExact();
  });

  it("stay exact after a purge whose cutoff falls inside an hour, a batch at a time", async () => {
    const before = (await db().selectFrom("log_entries").select("id").execute()).length;
    // Retention 1 day, the cutoff 2 h 17 min after T0: the entries before it go, in batches of 7.
    clock = T0 + DAY + 2 * HOUR + 17 * 60_000;
    const purged = await purgeOld(db(), { now: clock, logRetentionDays: 1, batch: 7, share: 1 });
    expect(purged.logEntries).toBeGreaterThan(7);
    expect(purged.logEntries).toBeLessThan(before);
    await expectExact();
    // The hour the cutoff fell in keeps only the rows of the entries left in it.
    const cutHour = Math.floor((T0 + 2 * HOUR + 17 * 60_000) / HOUR) * HOUR;
    const left = await db()
      .selectFrom("log_entries")
      .select("id")
      .where("created_at", ">=", cutHour)
      .where("created_at", "<", cutHour + HOUR)
      .execute();
    expect(left.length).toBeGreaterThan(0);
  });

  it("go with their webhook", async () => {
    expect((await hl.api("DELETE", `/api/v1/projects/r/webhooks/${hooks[0]}`)).status).toBe(204);
    expect(await db().selectFrom("log_hourly_rollups").select("webhook_id").where("webhook_id", "=", hooks[0]).execute()).toEqual([]);
    await expectExact();
  });

  it("are counted from the log by migration 0011", async () => {
    const counted = await countedRows();
    await db()
      .deleteFrom("kysely_migration" as any)
      .where("name", ">=", "0011_log_hourly_rollups")
      .execute();
    await sql`drop table log_hourly_rollups`.execute(db());
    expect(await migrate(db())).toContain("0011_log_hourly_rollups");
    expect(await tableRows()).toEqual(counted);
  });
});
