/** Webhook management: validation, the active limit (atomic per project), enable/disable. */
import { LimitError, NotFoundError, ValidationError } from "../domain/errors.js";
import { isId, newId } from "../domain/ids.js";
import { validateWebhookInput, type ValidWebhookFields, type WebhookInput, type WebhookRuleOptions } from "../domain/webhook-rules.js";
import type { WebhookRow, WebhooksTable } from "../store/schema.js";
import * as store from "../store/webhooks.js";
import type { Context } from "./context.js";
import { catalogNames } from "./event-types.js";
import { openSecret, sealSecret } from "./secrets.js";
import { getProject } from "./projects.js";
import { receiverOptionColumns } from "./receiver-options.js";
import { webhookView } from "./views.js";
import { announceDisabled, disableWebhook, type Disabled } from "./webhook-disable.js";

/**
 * The domain rules, plus what storage needs: PostgreSQL text cannot hold NUL, and an unsealed secret
 * is stored as text (refused on both databases alike). The receiver options' rules refuse control
 * characters already.
 */
function validate(input: WebhookInput, opts: WebhookRuleOptions): ValidWebhookFields {
  const fields = validateWebhookInput(input, opts);
  if (typeof fields.secret === "string" && fields.secret.includes("\u0000")) {
    throw new ValidationError([{ field: "secret", message: "secret must not contain NUL characters." }]);
  }
  return fields;
}

/**
 * `includeLast` adds `last_delivery` (the newest attempt) to each webhook: the UI's overview asks for
 * it with `?include=last_delivery`; by default the objects are exactly the spec's.
 */
export async function listWebhooks(ctx: Context, projectId: string, includeLast = false) {
  await getProject(ctx, projectId);
  const rows = await store.listWebhooks(ctx.store.db, projectId);
  const last = includeLast
    ? await store.lastAttempts(
        ctx.store.db,
        rows.map((r) => r.id),
      )
    : null;
  return {
    data: rows.map((r) => webhookView(r, last ? (last.get(r.id) ?? null) : undefined, ctx.now())),
    active_count: rows.filter((r) => r.enabled === 1).length,
    active_limit: ctx.config.maxActiveWebhooks,
  };
}

export async function findWebhookRow(ctx: Context, projectId: string, id: string): Promise<WebhookRow> {
  await getProject(ctx, projectId);
  const row = isId("wh", id) ? await store.findWebhook(ctx.store.db, projectId, id) : undefined;
  if (!row) throw new NotFoundError("Webhook");
  return row;
}

export async function getWebhook(ctx: Context, projectId: string, id: string, includeLast = false) {
  const row = await findWebhookRow(ctx, projectId, id);
  if (!includeLast) return webhookView(row, undefined, ctx.now());
  const last = await store.lastAttempts(ctx.store.db, [row.id]);
  return webhookView(row, last.get(row.id) ?? null, ctx.now());
}

export async function createWebhook(ctx: Context, projectId: string, input: WebhookInput) {
  await getProject(ctx, projectId);
  const fields = validate(input, { partial: false, catalog: await catalogNames(ctx), urlPolicy: ctx.config.urlPolicy, now: ctx.now() });
  const now = ctx.now();
  const enabled = fields.enabled ?? true;
  const row: WebhookRow = {
    id: newId("wh", now),
    project_id: projectId,
    name: fields.name!,
    events: JSON.stringify(fields.events!),
    url: fields.url!,
    secret: fields.secret ? sealSecret(ctx, fields.secret) : null,
    previous_secret: null,
    previous_secret_expires_at: null,
    signing_key: null,
    public_key: null,
    inflight_limit: null,
    headers: null,
    auth: null,
    auth_secret: null,
    client_cert: null,
    client_key: null,
    ...receiverOptionColumns(ctx, fields),
    filter: fields.filter ?? null,
    rate_limit_per_second: fields.rate_limit?.per_second ?? null,
    rate_limit_tat: null,
    ordering: fields.ordering ?? "none",
    enabled: enabled ? 1 : 0,
    disabled_reason: enabled ? null : "manual",
    disabled_at: enabled ? null : now,
    created_at: now,
    updated_at: now,
  };
  await ctx.store.db.transaction().execute(async (trx) => {
    if (!(await store.lockProject(trx, projectId))) throw new NotFoundError("Project");
    if (enabled && (await store.countActive(trx, projectId)) >= ctx.config.maxActiveWebhooks) {
      throw new LimitError(ctx.config.maxActiveWebhooks);
    }
    await store.insertWebhook(trx, row);
  });
  return webhookView(row, undefined, now);
}

export async function updateWebhook(ctx: Context, projectId: string, id: string, input: WebhookInput) {
  await findWebhookRow(ctx, projectId, id);
  const fields = validate(input, { partial: true, catalog: await catalogNames(ctx), urlPolicy: ctx.config.urlPolicy, now: ctx.now() });
  const now = ctx.now();
  let disabled: Disabled | null = null;
  await ctx.store.db.transaction().execute(async (trx) => {
    if (!(await store.lockProject(trx, projectId))) throw new NotFoundError("Project");
    const current = await store.findWebhook(trx, projectId, id);
    if (!current) throw new NotFoundError("Webhook");
    const changes: Partial<WebhooksTable> = { updated_at: now, ...receiverOptionColumns(ctx, fields) };
    if (fields.name !== undefined) changes.name = fields.name;
    if (fields.events !== undefined) changes.events = JSON.stringify(fields.events);
    if (fields.url !== undefined) changes.url = fields.url;
    if (fields.filter !== undefined) changes.filter = fields.filter;
    if (fields.rate_limit !== undefined) changes.rate_limit_per_second = fields.rate_limit?.per_second ?? null;
    if (fields.ordering !== undefined) changes.ordering = fields.ordering;
    // A new endpoint, or one enabled again after a fix, starts at the full in-flight limit again.
    if ((fields.url !== undefined && fields.url !== current.url) || (fields.enabled === true && current.enabled === 0)) changes.inflight_limit = null;
    if (fields.secret !== undefined) {
      // A PATCH replaces the secret at once: no overlap (that is what secret/rotate is for).
      changes.secret = fields.secret === null ? null : sealSecret(ctx, fields.secret);
      Object.assign(changes, { previous_secret: null, previous_secret_expires_at: null });
    }
    if (fields.enabled === true && current.enabled === 0) {
      if ((await store.countActive(trx, projectId)) >= ctx.config.maxActiveWebhooks) throw new LimitError(ctx.config.maxActiveWebhooks);
      Object.assign(changes, { enabled: 1, disabled_reason: null, disabled_at: null });
    }
    await store.updateWebhook(trx, projectId, id, changes);
    // A disabled webhook sends nothing: its queued event deliveries and retries stop here.
    if (fields.enabled === false && current.enabled === 1) disabled = await disableWebhook(ctx, trx, id, "manual", now);
  });
  if (disabled) announceDisabled(ctx, [disabled]);
  return getWebhook(ctx, projectId, id);
}

export async function deleteWebhook(ctx: Context, projectId: string, id: string) {
  await findWebhookRow(ctx, projectId, id);
  if (!(await store.deleteWebhook(ctx.store.db, projectId, id))) throw new NotFoundError("Webhook");
}

export async function revealSecret(ctx: Context, projectId: string, id: string) {
  const row = await findWebhookRow(ctx, projectId, id);
  return { secret: row.secret === null ? null : openSecret(ctx, row.secret) };
}
