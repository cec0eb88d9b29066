/**
 * A webhook's signing material beyond PATCH: secret rotation with an overlap, and the Ed25519
 * signing key. Both are stored like secrets (sealed when HOOKLINE_ENCRYPTION_KEY is set); the
 * private key is never returned.
 */
import { NotFoundError } from "../domain/errors.js";
import { validateRotation } from "../domain/rotation-rules.js";
import { newSigningKey } from "../domain/signing.js";
import { generateSecret } from "../domain/webhook-rules.js";
import * as store from "../store/webhooks.js";
import type { Context } from "./context.js";
import { sealSecret } from "./secrets.js";
import { findWebhookRow } from "./webhooks.js";

/**
 * Makes `secret` (or a generated one) current; the old one keeps signing as a second `v1,` value for
 * `previous_valid_seconds`. A webhook without a secret just gets one (there is nothing to overlap
 * with), and 0 seconds replaces at once. Rotating again during an overlap drops the older secret: a
 * receiver is expected to hold at most the two newest.
 */
export async function rotateSecret(ctx: Context, projectId: string, id: string, input: unknown) {
  await findWebhookRow(ctx, projectId, id);
  const { secret: given, previousValidSeconds } = validateRotation(input);
  const secret = given ?? generateSecret();
  const now = ctx.now();
  let expiresAt: number | null = null;
  await ctx.store.db.transaction().execute(async (trx) => {
    if (!(await store.lockProject(trx, projectId))) throw new NotFoundError("Project");
    const current = await store.findWebhook(trx, projectId, id);
    if (!current) throw new NotFoundError("Webhook");
    const overlap = current.secret !== null && previousValidSeconds > 0;
    expiresAt = overlap ? now + previousValidSeconds * 1000 : null;
    await store.updateWebhook(trx, projectId, id, {
      secret: sealSecret(ctx, secret),
      // The stored (sealed) value moves as it is: it never exists in plaintext outside this process.
      previous_secret: overlap ? current.secret : null,
      previous_secret_expires_at: expiresAt,
      updated_at: now,
    });
  });
  return { secret, previous_secret_expires_at: expiresAt === null ? null : new Date(expiresAt).toISOString() };
}

/** A new Ed25519 key pair, replacing any earlier one; answers the public key. */
export async function createSigningKey(ctx: Context, projectId: string, id: string) {
  await findWebhookRow(ctx, projectId, id);
  const key = newSigningKey();
  await store.updateWebhook(ctx.store.db, projectId, id, {
    signing_key: sealSecret(ctx, key.privateKey),
    public_key: key.publicKey,
    updated_at: ctx.now(),
  });
  return { public_key: key.publicKey };
}

export async function deleteSigningKey(ctx: Context, projectId: string, id: string): Promise<void> {
  await findWebhookRow(ctx, projectId, id);
  await store.updateWebhook(ctx.store.db, projectId, id, { signing_key: null, public_key: null, updated_at: ctx.now() });
}
