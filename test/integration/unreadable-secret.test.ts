/**
 * A webhook secret sealed with a key that is no longer in HOOKLINE_ENCRYPTION_KEY: each attempt is a
 * failed attempt with nothing sent, whose log entry names the key, and so counts towards the retries
 * and the auto-disable (it used to be reclaimed at every lease period forever, with no log entry).
 */
import crypto from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, DIALECTS, type TestDatabase } from "../helpers/databases.js";
import { startHookline } from "../helpers/hookline.js";
import { startReceiver, type Receiver } from "../helpers/receiver.js";
import { eventually } from "../helpers/wait.js";

const k1 = crypto.randomBytes(32).toString("base64");
const k2 = crypto.randomBytes(32).toString("base64");

describe.each(DIALECTS)("a secret the key ring cannot open (%s)", (dialect) => {
  let rx: Receiver;
  let db: TestDatabase;
  beforeAll(async () => {
    rx = await startReceiver();
    db = await createTestDatabase(dialect, { migrated: true });
  });
  afterAll(async () => {
    await rx?.close();
    await db?.drop();
  });

  it("fails each attempt with the cause in the log, retries, then disables the webhook", async () => {
    const before = await startHookline({ dialect, database: db, env: { HOOKLINE_ENCRYPTION_KEY: `one:${k1}` } });
    let hookId: string;
    try {
      await before.project("acme");
      const hook = await before.api("POST", "/api/v1/projects/acme/webhooks", { name: "h", events: ["issue.created"], url: rx.url, secret: "whsec_lost-key" });
      expect(hook.status).toBe(201);
      hookId = hook.body.id;
    } finally {
      await before.close();
    }
    // Key "one" is gone from the ring (rotated out before `hookline rotate-key` re-sealed the secret).
    const hl = await startHookline({
      dialect,
      database: db,
      worker: true,
      ca: rx.ca,
      env: { HOOKLINE_ENCRYPTION_KEY: `two:${k2}`, HOOKLINE_RETRY_DELAYS: "0.1,0.1" },
    });
    try {
      expect((await hl.api("POST", "/api/v1/projects/acme/events", { event: "issue.created", subject: { id: 1 } })).status).toBe(202);
      const db = hl.runtime.ctx.store.db;
      const delivery = await eventually(
        () => db.selectFrom("deliveries").select(["status", "attempts"]).where("webhook_id", "=", hookId).where("status", "=", "failed").executeTakeFirst(),
        10_000,
        "the delivery to fail",
      );
      expect(delivery).toEqual({ status: "failed", attempts: 3 });
      const logs = await db
        .selectFrom("log_entries")
        .select(["attempt", "success", "status_code", "error"])
        .where("webhook_id", "=", hookId)
        .orderBy("attempt")
        .execute();
      expect(logs.map((l) => l.attempt)).toEqual([1, 2, 3]);
      for (const l of logs) {
        expect(l).toMatchObject({ success: 0, status_code: null });
        expect(l.error).toMatch(/^Not sent: the webhook secret is sealed with key "one", which HOOKLINE_ENCRYPTION_KEY does not hold \(it holds "two"\)/);
        expect(l.error).not.toContain("lost-key");
      }
      const hook = await db.selectFrom("webhooks").select(["enabled", "disabled_reason"]).where("id", "=", hookId).executeTakeFirstOrThrow();
      expect(hook).toEqual({ enabled: 0, disabled_reason: "failures" });
      expect(rx.requests).toHaveLength(0);
    } finally {
      await hl.close();
    }
  });
});
