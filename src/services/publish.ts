/** Publishing an event (fan-out), the Test action and Redeliver: everything that queues deliveries. */
import type { PublishResult } from "../api/schemas.js";
import { TEST_EVENT } from "../domain/catalog.js";
import { HooklineError, NotFoundError, PayloadTooLargeError, ValidationError, type FieldError } from "../domain/errors.js";
import { isId, newId } from "../domain/ids.js";
import { buildEventBody, testSubject } from "../domain/payload.js";
import { subjectErrors } from "../domain/subject-schema.js";
import type { Kysely } from "kysely";
import { transact } from "../store/db.js";
import { hostKysely, isHostTransaction, notifyOnCommit, type HostTransaction } from "../store/postgres/host-transaction.js";
import type { Database } from "../store/schema.js";
import * as events from "../store/events.js";
import { fanOutWebhookIds } from "../store/fan-out.js";
import { lazyBody } from "../domain/fan-out.js";
import { enqueue, enqueueSubscribedAtOnce, type RetrySchedule } from "../store/queue/enqueue.js";
import { findLogEntry } from "../store/logs.js";
import { findProject } from "../store/projects.js";
import type { Context } from "./context.js";
import { catalogSchema } from "./event-types.js";
import { checkProjectId, getProject } from "./projects.js";
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

class IdempotencyRace extends Error {}

/**
 * Validates and stores a publish. With tracing on it runs in a publish span, a child of
 * `traceparent` (the API request's header) or of the caller's active context (the library).
 */
export async function publish(
  ctx: Context,
  projectId: string,
  input: PublishInput,
  idempotencyKey?: string,
  traceparent?: string,
  hostTransaction?: unknown,
): Promise<PublishResult> {
  const tx = hostTransaction === undefined ? undefined : checkHostTransaction(ctx, hostTransaction);
  if (!ctx.tracing) return checkAndPublish(ctx, projectId, input, idempotencyKey, null, tx);
  const event = typeof input.event === "string" ? input.event.slice(0, 100) : "";
  return ctx.tracing.publish({ projectId, event }, traceparent, (trace) => checkAndPublish(ctx, projectId, input, idempotencyKey, trace, tx));
}

/** The `client` option of a transactional publish: PostgreSQL only, a pg client or a Kysely transaction. */
function checkHostTransaction(ctx: Context, client: unknown): HostTransaction {
  if (!ctx.store.hostTransactions) {
    throw new HooklineError(
      "transaction_unsupported",
      "publish(…, { client }) writes in your PostgreSQL transaction, but this Hookline stores its data in SQLite: open it on the same postgres:// database as your app, or publish without `client`.",
    );
  }
  if (!isHostTransaction(client)) {
    throw new HooklineError(
      "transaction_unsupported",
      "publish(…, { client }): `client` must be a node-postgres client (pg.Client or a pool's client) or a Kysely transaction, inside an open transaction.",
    );
  }
  return client;
}

async function checkAndPublish(
  ctx: Context,
  projectId: string,
  input: PublishInput,
  idempotencyKey: string | undefined,
  trace: string | null,
  tx: HostTransaction | undefined,
): Promise<PublishResult> {
  checkProjectId(projectId);
  // An unknown project answers 404 before anything else. The publishes that write check it
  // themselves (the one-statement publish, store/queue/enqueue.ts, and the transaction below), so
  // the project is read first only on the other paths.
  let read: Promise<unknown> | undefined;
  const projectExists = () => (read ??= getProject(ctx, projectId));
  const errors: FieldError[] = [];
  let schema: string | null | undefined = null;
  if (typeof input.event !== "string" || input.event === "") errors.push({ field: "event", message: "is required and must be an event type name" });
  else if (input.event === TEST_EVENT) errors.push({ field: "event", message: '"test-event" is reserved for the Test action and cannot be published' });
  else if ((schema = await catalogSchema(ctx, input.event)) === undefined)
    errors.push({ field: "event", message: `"${input.event.slice(0, 100)}" is not in the event catalog (GET /api/v1/event-types)` });
  if (input.subject === undefined || input.subject === null || typeof input.subject !== "object" || Array.isArray(input.subject)) {
    errors.push({ field: "subject", message: "is required and must be a JSON object" });
  } else if (schema) {
    // The event type's JSON Schema (docs/event-catalog.md): every mismatch is one detail.
    errors.push(...subjectErrors(schema, input.subject));
  }
  if (input.source !== undefined && input.source !== "app" && input.source !== "import") {
    errors.push({ field: "source", message: 'must be "app" or "import"' });
  }
  if (idempotencyKey !== undefined && (idempotencyKey.length < 1 || idempotencyKey.length > 255)) {
    errors.push({ field: "Idempotency-Key", message: "must be 1–255 characters" });
  }
  if (errors.length) {
    await projectExists();
    throw new ValidationError(errors);
  }
  const subjectBytes = Buffer.byteLength(JSON.stringify(input.subject));
  if (subjectBytes > MAX_SUBJECT_BYTES) {
    await projectExists();
    throw new PayloadTooLargeError(`The subject is ${subjectBytes} bytes; at most ${MAX_SUBJECT_BYTES} bytes (256 KiB) are accepted.`);
  }
  // Imports are accepted and create nothing (docs/host-apps.md, "Imports").
  if (input.source === "import") {
    await projectExists();
    return { id: null, deliveries: 0, skipped: "import" };
  }
  const p = { projectId, event: input.event as string, subject: input.subject, key: idempotencyKey, traceContext: trace, now: ctx.now() };
  if (tx) {
    await projectExists();
    return publishInHostTransaction(ctx, tx, p);
  }
  return publishEvent(ctx, p);
}

/** One publish, validated: what is written (the event, its deliveries, the idempotency record). */
interface PublishWrite {
  projectId: string;
  event: string;
  subject: unknown;
  key: string | undefined;
  traceContext: string | null;
  now: number;
}

/** Stores the event and one delivery per enabled, subscribed webhook in one transaction. */
async function publishEvent(ctx: Context, p: PublishWrite): Promise<PublishResult> {
  const { projectId, event, subject, key, traceContext, now } = p;
  const schedule = retrySchedule(ctx);
  if (!key) {
    // One statement instead of a transaction where the store has one (store/queue/enqueue.ts).
    const id = newId("evt", now);
    const webhookIds = await enqueueSubscribedAtOnce(ctx.store, schedule, () => {
      const payload = buildEventBody({ id, event, createdAt: new Date(now), projectId, subject });
      return {
        event: { id, projectId, event, payload, now, traceContext },
        deliveryIds: Array.from({ length: Math.min(ctx.config.maxActiveWebhooks, MAX_PRESET_IDS) }, () => newId("dlv", now)),
        fanOut: { event, body: lazyBody(payload) },
      };
    });
    if (webhookIds === "no_project") throw new NotFoundError("Project");
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
        // Read in the transaction, not before it: on SQLite a statement straight on the group
        // commit's connection instead of a query through Kysely's executor waiting for it.
        if (!(await findProject(trx, projectId))) throw new NotFoundError("Project");
        const written = await writePublish(ctx, trx, p);
        queuedFor = written.webhookIds;
        return written.result;
      });
      // Wakes the worker in this process (and, on PostgreSQL, every node's: Runtime).
      if (queuedFor.length > 0) ctx.signals.emit("published", queuedFor);
      return result;
    } catch (err) {
      // Another request with the same key committed first: answer what it answered.
      if (err instanceof IdempotencyRace && attempt < 3) continue;
      throw err;
    }
  }
}

/** Event deliveries retry after each configured delay in turn: 1 + delays attempts in all. */
function retrySchedule(ctx: Context): RetrySchedule {
  return { maxAttempts: 1 + ctx.config.retryDelaysMs.length, retryDelaysMs: ctx.config.retryDelaysMs };
}

/**
 * Writes one publish with `db`, which is inside a transaction: the caller's own, or the host's
 * (transactional publish). Answers the earlier result for a key seen within 24 h.
 */
async function writePublish(ctx: Context, db: Kysely<Database>, p: PublishWrite): Promise<{ result: PublishResult; webhookIds: string[] }> {
  const { projectId, event, key, now } = p;
  const notBefore = now - IDEMPOTENCY_WINDOW_MS;
  if (key) {
    const earlier = await events.findIdempotentResponse(db, projectId, key, notBefore);
    if (earlier) return { result: earlier as PublishResult, webhookIds: [] };
  }
  const id = newId("evt", now);
  const payload = buildEventBody({ id, event, createdAt: new Date(now), projectId, subject: p.subject });
  const webhookIds = await fanOutWebhookIds(db, projectId, { event, body: lazyBody(payload) });
  await enqueue(
    db,
    { id, projectId, event, payload, now, traceContext: p.traceContext },
    webhookIds.map((webhookId) => ({ id: newId("dlv", now), webhookId, trigger: "event" })),
    retrySchedule(ctx),
  );
  const result: PublishResult = { id, deliveries: webhookIds.length };
  if (key && !(await events.saveIdempotentResponse(db, { projectId, key, response: result, now, notBefore }))) throw new IdempotencyRace();
  return { result, webhookIds };
}

/**
 * Transactional publish (PostgreSQL): the event and its deliveries are written with the host's
 * connection inside the host's open transaction, so they exist if and only if it commits (no
 * webhook for a change that rolled back, none lost for one that committed); the NOTIFY sent in it
 * wakes the workers at commit. See docs/host-apps.md.
 */
async function publishInHostTransaction(ctx: Context, tx: HostTransaction, p: PublishWrite): Promise<PublishResult> {
  const { db, done } = hostKysely(tx);
  try {
    const { result, webhookIds } = await writePublish(ctx, db, p);
    if (webhookIds.length > 0) await notifyOnCommit(db);
    return result;
  } catch (err) {
    if (err instanceof IdempotencyRace) {
      throw new HooklineError(
        "idempotency_conflict",
        "Another publish with this idempotency key committed while this transaction ran; roll back and retry to get its result.",
      );
    }
    throw err;
  } finally {
    await done();
  }
}

/** Queues one single-attempt delivery of `payload` to the webhook. */
async function queueSingle(
  ctx: Context,
  projectId: string,
  webhookId: string,
  trigger: "test" | "redeliver",
  eventId: string | null,
  event: string,
  subject?: unknown,
) {
  const now = ctx.now();
  const deliveryId = newId("dlv", now);
  await ctx.store.db.transaction().execute(async (trx) => {
    const evtId = eventId ?? newId("evt", now);
    const payload = eventId ? "" : buildEventBody({ id: evtId, event, createdAt: new Date(now), projectId, subject });
    await enqueue(
      trx,
      { id: evtId, projectId, event, payload, now },
      [{ id: deliveryId, webhookId, trigger }],
      { maxAttempts: 1, retryDelaysMs: [] },
      eventId !== null,
    );
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
