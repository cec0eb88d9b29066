/**
 * Recover: one new delivery (trigger `recover`) for each stored event of a window that fan-out
 * gives a webhook (store/fan-out.ts: subscribed, and its payload filter as it is now) and that it
 * has neither received (a succeeded delivery) nor queued (a pending one) — failed ones, cancelled
 * ones and events published while it was disabled. A page at a time, each in its
 * caller's transaction: the candidates are read and their deliveries written under the webhook's
 * lock (PostgreSQL: its row; SQLite: the write lock the transaction holds), so two recovers at once
 * never queue one event twice — the second finds the first's pending deliveries.
 */
import { sql, type Kysely } from "kysely";
import { isSqlite } from "../fixed-statement.js";
import type { Database, DeliveriesTable } from "../schema.js";
import type { RetrySchedule } from "./enqueue.js";
import { whyNotDelivered } from "../../domain/fan-out.js";
import { FAN_OUT_COLUMNS, fanOutWebhook, type FanOutRow } from "../fan-out.js";

type Db = Kysely<Database>;

export interface RecoverPage {
  webhookId: string;
  projectId: string;
  /** Window, epoch ms, inclusive. */
  from: number;
  to: number;
  /** Resume after this event (created_at, id), from the previous page. */
  after: { at: number; id: string } | null;
  limit: number;
}

export interface RecoveredPage {
  queued: number;
  /** Where the next page starts; null when the window is done (or the webhook is gone or disabled). */
  next: { at: number; id: string } | null;
}

export async function recoverPage(
  db: Db,
  page: RecoverPage,
  schedule: RetrySchedule,
  now: number,
  newDeliveryId: (at: number) => string,
): Promise<RecoveredPage> {
  const row = (
    await sql<
      FanOutRow & { ordering: string }
    >`select ${sql.raw(FAN_OUT_COLUMNS)}, ordering from webhooks where id = ${page.webhookId} ${sql.raw(isSqlite(db) ? "" : "for update")}`.execute(db)
  ).rows[0];
  if (!row || row.enabled !== 1) return { queued: 0, next: null };
  // Fan-out decides, with the webhook's settings as they are now (read under its lock).
  const hook = fanOutWebhook(row);
  if (hook.events.length === 0) return { queued: 0, next: null };
  const after = page.after;
  const rows = await db
    .selectFrom("events as e")
    .select(["e.id", "e.created_at", "e.event"])
    .$if(hook.filter !== null, (q) => q.select("e.payload"))
    .where("e.project_id", "=", page.projectId) // index events_project_created
    .where("e.created_at", ">=", page.from)
    .where("e.created_at", "<=", page.to)
    .where("e.event", "in", hook.events)
    .$if(after !== null, (q) =>
      q.where((eb) => eb.or([eb("e.created_at", ">", after!.at), eb.and([eb("e.created_at", "=", after!.at), eb("e.id", ">", after!.id)])])),
    )
    .orderBy("e.created_at")
    .orderBy("e.id")
    .limit(page.limit)
    .execute();
  if (rows.length === 0) return { queued: 0, next: null };
  const ids = rows.map((r) => r.id);
  // Received or queued already (index deliveries_event): left alone.
  const covered = new Set(
    (
      await db
        .selectFrom("deliveries")
        .select("event_id")
        .where("event_id", "in", ids)
        .where("webhook_id", "=", page.webhookId)
        .where("status", "in", ["pending", "succeeded"])
        .execute()
    ).map((r) => r.event_id),
  );
  const missing = rows.filter(
    (r) => !covered.has(r.id) && whyNotDelivered(hook, { event: r.event, body: () => JSON.parse((r as { payload?: string }).payload!) as unknown }) === null,
  );
  if (missing.length > 0) {
    const retryDelays = JSON.stringify(schedule.retryDelaysMs);
    const values: DeliveriesTable[] = missing.map((e) => ({
      id: newDeliveryId(now),
      event_id: e.id,
      webhook_id: page.webhookId,
      project_id: page.projectId,
      trigger: "recover",
      status: "pending",
      attempts: 0,
      max_attempts: schedule.maxAttempts,
      retry_delays: retryDelays,
      // Due at once, in the order the events were published: the claim takes a webhook's rows by
      // run_at, so the oldest event goes first; other webhooks keep their fair share meanwhile.
      // A FIFO webhook takes them in creation order instead (store/queue/fifo.ts): behind what it has queued.
      run_at: row.ordering === "fifo" ? now : Math.min(now, Number(e.created_at)),
      lease_token: null,
      created_at: now,
      updated_at: now,
    }));
    for (let i = 0; i < values.length; i += 500)
      await db
        .insertInto("deliveries")
        .values(values.slice(i, i + 500))
        .execute();
  }
  const last = rows[rows.length - 1];
  return { queued: missing.length, next: rows.length < page.limit ? null : { at: Number(last.created_at), id: last.id } };
}
