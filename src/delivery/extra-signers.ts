/**
 * Adds the signatures beyond the current secret's to a delivery attempt just before it is sent: the
 * previous secret's `v1,` value while a rotation overlaps, and the signing key's `v1a,` value.
 *
 * The Sender calls this with the request the worker built (and logs): the headers are changed in
 * place, so the delivery log shows exactly what was sent. The webhook's keys are read at send time,
 * like its URL and secret, so a rotation or a new key applies to the very next attempt, retries
 * included. One primary-key read per attempt; nothing when the webhook has neither.
 */
import { addSignatures } from "../domain/payload.js";
import { isId } from "../domain/ids.js";
import type { Context } from "../services/context.js";
import { openSecret } from "../services/secrets.js";
import type { AttemptRequest } from "./sender.js";

export type AttemptSigner = (req: AttemptRequest) => Promise<void>;

export function extraSigners(ctx: Context): AttemptSigner {
  return async (req) => {
    const deliveryId = req.headers["Hookline-Delivery"];
    if (!deliveryId || !isId("dlv", deliveryId)) return;
    const row = await ctx.store.db
      .selectFrom("deliveries as d")
      .innerJoin("webhooks as w", "w.id", "d.webhook_id")
      .select(["w.secret", "w.previous_secret", "w.previous_secret_expires_at", "w.signing_key"])
      .where("d.id", "=", deliveryId)
      .executeTakeFirst();
    if (!row || (!row.previous_secret && !row.signing_key)) return;
    const now = ctx.now();
    const previousValid = row.secret !== null && row.previous_secret && Number(row.previous_secret_expires_at) > now;
    addSignatures(req.headers, {
      deliveryId,
      body: req.body,
      now: new Date(now),
      previousSecret: previousValid ? openSecret(ctx, row.previous_secret!) : null,
      signingKey: row.signing_key ? openSecret(ctx, row.signing_key) : null,
    });
  };
}
