/**
 * A large retention purge runs beside deliveries and the API: it yields between its batches, so a
 * request is answered and a delivery arrives while the purge is still going (on SQLite the
 * statements run on the main thread; a purge that never yielded would hold every request until it
 * had deleted everything).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { purgeOld } from "../../src/store/queue/purge.js";
import { newId } from "../../src/domain/ids.js";
import { DIALECTS } from "../helpers/databases.js";
import { startHookline, type TestHookline } from "../helpers/hookline.js";
import { startReceiver, type Receiver } from "../helpers/receiver.js";
import { eventually } from "../helpers/wait.js";

const DAY = 24 * 3600_000;
const EXPIRED = 40_000;

describe.each(DIALECTS)("retention purge beside traffic (%s)", (dialect) => {
  let hl: TestHookline;
  let rx: Receiver;
  beforeAll(async () => {
    rx = await startReceiver();
    hl = await startHookline({ dialect, worker: true, ca: rx.ca, env: { HOOKLINE_LOG_RETENTION_DAYS: "7" } });
  });
  afterAll(async () => {
    await hl?.close();
    await rx?.close();
  });

  it("answers the API and delivers while it deletes tens of thousands of expired log entries", async () => {
    const db = hl.runtime.ctx.store.db;
    await hl.project("p");
    const hook = (await hl.api("POST", "/api/v1/projects/p/webhooks", { name: "w", events: ["test-run.completed"], url: `${rx.url}/w` })).body;
    expect(await hl.api("POST", "/api/v1/projects/p/events", { event: "test-run.completed", subject: { id: "TR-0" } })).toMatchObject({ status: 202 });
    const [template] = await eventually(
      async () => {
        const rows = await db.selectFrom("log_entries").selectAll().execute();
        return rows.length === 1 ? rows : undefined;
      },
      8000,
      "the first attempt's log entry",
    );

    // Copies of the real entry, 8 to 20 days old, written straight into the table.
    const old = Date.now() - 20 * DAY;
    for (let i = 0; i < EXPIRED; i += 1000) {
      const chunk = Array.from({ length: 1000 }, (_, k) => {
        const at = old + (i + k) * Math.floor((12 * DAY) / EXPIRED);
        return { ...template, id: newId("log", at), created_at: at };
      });
      await db.insertInto("log_entries").values(chunk).execute();
    }

    let purgeDone = false;
    const started = Date.now();
    const purge = purgeOld(db, { now: Date.now(), logRetentionDays: 7 }).then((r) => {
      purgeDone = true;
      return r;
    });
    try {
      // Let the purge get going, then ask for a page and publish while it runs.
      await new Promise((r) => setTimeout(r, 100));
      expect(purgeDone).toBe(false);
      const page = await hl.api("GET", `/api/v1/projects/p/webhooks/${hook.id}/logs?limit=5`);
      expect(page.status).toBe(200);
      expect(purgeDone).toBe(false);
      expect(await hl.api("POST", "/api/v1/projects/p/events", { event: "test-run.completed", subject: { id: "TR-1" } })).toMatchObject({ status: 202 });
      await eventually(() => rx.requests.some((r) => r.body.includes('"TR-1"')), 10_000, "the delivery during the purge");
      // Both happened while the purge still had rows to delete.
      expect(purgeDone).toBe(false);
    } finally {
      const result = await purge;
      expect(result.logEntries).toBe(EXPIRED);
    }
    // The purge was paced, not a single burst: it took several times its own work.
    expect(Date.now() - started).toBeGreaterThan(200);
    expect(
      await db
        .selectFrom("log_entries")
        .select("id")
        .where("created_at", "<", Date.now() - 7 * DAY)
        .execute(),
    ).toEqual([]);
  }, 120_000);
});
