/** Publishing an event (fan-out), the Test action and Redeliver: everything that queues deliveries. */
import { TEST_EVENT } from "../domain/catalog.js";
import { NotFoundError, PayloadTooLargeError, ValidationError, type FieldError } from "../domain/errors.js";
import { isId, newId } from "../domain/ids.js";
import { buildEventBody, testSubject } from "../domain/payload.js";
import { transact } from "../store/db.js";
import * as events from "../store/events.js";
import { publishEventPostgres } from "../store/postgres/publish-event.js";
import { findLogEntry } from "../store/logs.js";
import type { Context } from "./context.js";
import { inCatalog } from "./event-types.js";
import { getProject } from "./projects.js";
import { findWebhookRow } from "./webhooks.js";

export const MAX_SUBJECT_BYTES = 256 * 1024;
const IDEMPOTENCY_WINDOW_MS = 24 * 3600 * 1000;
/** Delivery ids made ahead for the one-statement publish; more subscribers take the transaction. */
const MAX_PRESET_IDS = 20;

export interface PublishInput {
  event?: unknown;
  subject?: unknown;
  source?: unknown;
}

export interface PublishResult {
  id: string | null;
  deliveries: number;
  skipped?: "import";
}

class IdempotencyRace extends Error {}

export async function publish(ctx: Context, projectId: string, input: PublishInput, idempotencyKey?: string): Promise<PublishResult> {
  await getProject(ctx, projectId);
  const errors: FieldError[] = [];
  if (typeof input.event !== "string" || input.event === "") errors.push({ field: "event", message: "is required and must be an event type name" });
  else if (input.event === TEST_EVENT) errors.push({ field: "event", message: '"test-event" is reserved for the Test action and cannot be published' });
  else if (!(await inCatalog(ctx, input.event))) errors.push({ field: "event", message: `"${input.event.slice(0, 100)}" is not in the event catalog (GET /api/v1/event-types)` });
  if (input.subject === undefined || input.subject === null || typeof input.subject !== "object" || Array.isArray(input.subject)) {
    errors.push({ field: "subject", message: "is required and must be a JSON object" });
  }
  if (input.source !== undefined && input.source !== "app" && input.source !== "import") {
    errors.push({ field: "source", message: 'must be "app" or "import"' });
  }
  if (idempotencyKey !== undefined && (idempotencyKey.length < 1 || idempotencyKey.length > 255)) {
    errors.push({ field: "Idempotency-Key", message: "must be 1–255 characters" });
  }
  if (errors.length) throw new ValidationError(errors);
  const subjectBytes = Buffer.byteLength(JSON.stringify(input.subject));
  if (subjectBytes > MAX_SUBJECT_BYTES) {
    throw new PayloadTooLargeError(`The subject is ${subjectBytes} bytes; at most ${MAX_SUBJECT_BYTES} bytes (256 KiB) are accepted.`);
  }
  // Imports are accepted and create nothing (docs/host-apps.md, "Imports").
  if (input.source === "import") return { id: null, deliveries: 0, skipped: "import" };
  return publishEvent(ctx, projectId, input.event as string, input.subject, idempotencyKey);
}

/** Stores the event and one delivery per enabled, subscribed webhook in one transaction. */
async function publishEvent(ctx: Context, projectId: string, event: string, subject: unknown, key?: string): Promise<PublishResult> {
  const now = ctx.now();
  const notBefore = now - IDEMPOTENCY_WINDOW_MS;
  if (!key && ctx.store.dialect === "postgres") {
    // One statement instead of a five-round-trip transaction (store/postgres/publish-event.ts).
    const id = newId("evt", now);
    const payload = buildEventBody({ id, event, createdAt: new Date(now), projectId, subject });
    const deliveryIds = Array.from({ length: Math.min(ctx.config.maxActiveWebhooks, MAX_PRESET_IDS) }, () => newId("dlv", now));
    const webhookIds = await publishEventPostgres(ctx.store.db, { id, projectId, event, payload, now, maxAttempts: 1 + ctx.config.retryDelaysMs.length, deliveryIds });
    if (webhookIds) {
      if (webhookIds.length > 0) ctx.signals.emit("published", webhookIds);
      return { id, deliveries: webhookIds.length };
    }
  }
  for (let attempt = 0; ; attempt++) {
    let queuedFor: string[] = [];
    try {
      // SQLite: publishes arriving together share one commit (store/sqlite/group-commit.ts). The
      // work below must use only `trx`: the shared transaction holds the only connection.
      const result = await transact(ctx.store, async (trx) => {
        if (key) {
          const earlier = await events.findIdempotentResponse(trx, projectId, key, notBefore);
          if (earlier) return earlier as PublishResult;
        }
        const id = newId("evt", now);
        const payload = buildEventBody({ id, event, createdAt: new Date(now), projectId, subject });
        const webhookIds = await events.subscribedWebhookIds(trx, projectId, event);
        const maxAttempts = 1 + ctx.config.retryDelaysMs.length;
        await events.insertEventWithDeliveries(
          trx,
          { id, projectId, event, payload, now },
          webhookIds.map((webhookId) => ({ id: newId("dlv", now), webhookId, trigger: "event", maxAttempts })),
        );
        const res: PublishResult = { id, deliveries: webhookIds.length };
        queuedFor = webhookIds;
        if (key && !(await events.saveIdempotentResponse(trx, { projectId, key, response: res, now, notBefore }))) {
          throw new IdempotencyRace();
        }
        return res;
      });
      // The worker in this process skips the claim when every one of these webhooks is at its cap.
      if (queuedFor.length > 0) ctx.signals.emit("published", queuedFor);
      return result;
    } catch (err) {
      // Another request with the same key committed first: answer what it answered.
      if (err instanceof IdempotencyRace && attempt < 3) continue;
      throw err;
    }
  }
}

/** Queues one single-attempt delivery of `payload` to the webhook. */
async function queueSingle(ctx: Context, projectId: string, webhookId: string, trigger: "test" | "redeliver", eventId: string | null, event: string, subject?: unknown) {
  const now = ctx.now();
  const deliveryId = newId("dlv", now);
  await ctx.store.db.transaction().execute(async (trx) => {
    let evtId = eventId;
    if (!evtId) {
      evtId = newId("evt", now);
      const payload = buildEventBody({ id: evtId, event, createdAt: new Date(now), projectId, subject });
      await events.insertEventWithDeliveries(trx, { id: evtId, projectId, event, payload, now }, []);
    }
    await trx
      .insertInto("deliveries")
      .values({
        id: deliveryId,
        event_id: evtId,
        webhook_id: webhookId,
        project_id: projectId,
        trigger,
        status: "pending",
        attempts: 0,
        max_attempts: 1,
        run_at: now,
        lease_token: null,
        created_at: now,
        updated_at: now,
      })
      .execute();
  });
  ctx.signals.emit("published");
  return { delivery_id: deliveryId };
}

/** The Test action: one `test-event` attempt, enabled or not, never retried, never disabling. */
export async function testWebhook(ctx: Context, projectId: string, webhookId: string) {
  const hook = await findWebhookRow(ctx, projectId, webhookId);
  return queueSingle(ctx, projectId, hook.id, "test", null, TEST_EVENT, testSubject(hook.id));
}

/** Redeliver: a new single attempt of the same body as the log entry's delivery. */
export async function redeliver(ctx: Context, projectId: string, webhookId: string, logId: string) {
  const hook = await findWebhookRow(ctx, projectId, webhookId);
  const entry = isId("log", logId) ? await findLogEntry(ctx.store.db, hook.id, logId) : undefined;
  if (!entry) throw new NotFoundError("Log entry");
  const delivery = await ctx.store.db.selectFrom("deliveries").select(["event_id"]).where("id", "=", entry.delivery_id).executeTakeFirst();
  if (!delivery) throw new NotFoundError("Log entry");
  return queueSingle(ctx, projectId, hook.id, "redeliver", delivery.event_id, entry.event);
}
