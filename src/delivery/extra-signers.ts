/**
 * Adds the signatures beyond the current secret's to a delivery attempt just before it is sent: the
 * previous secret's `v1,` value while a rotation overlaps, and the signing key's `v1a,` value.
 *
 * The Sender calls this with the request the worker built (and logs): the headers are changed in
 * place, so the delivery log shows exactly what was sent. The webhook's keys are read at send time,
 * like its URL and secret, so a rotation or a new key applies to the very next attempt, retries
 * included. The attempts a claim starts together are looked up in one query (they ask within the
 * same turn of the event loop), so this costs one round trip per claim, not per attempt.
 */
import { addSignatures } from "../domain/payload.js";
import { isId } from "../domain/ids.js";
import type { Context } from "../services/context.js";
import { openSecret } from "../services/secrets.js";
import type { AttemptRequest } from "./sender.js";

export type AttemptSigner = (req: AttemptRequest) => Promise<void>;

interface Keys {
  secret: string | null;
  previous_secret?: string | null;
  previous_secret_expires_at?: number | null;
  signing_key?: string | null;
}

export function extraSigners(ctx: Context): AttemptSigner {
  const lookup = batchedLookup(ctx);
  return async (req) => {
    const deliveryId = req.headers["Hookline-Delivery"];
    if (!deliveryId || !isId("dlv", deliveryId)) return;
    const row = await lookup(deliveryId);
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

/** Lookups asked for in the same turn of the event loop share one query. */
function batchedLookup(ctx: Context): (deliveryId: string) => Promise<Keys | undefined> {
  let waiting: Map<string, Array<{ resolve: (k: Keys | undefined) => void; reject: (e: unknown) => void }>> | null = null;
  const flush = async (batch: NonNullable<typeof waiting>) => {
    try {
      const rows = await ctx.store.db
        .selectFrom("deliveries as d")
        .innerJoin("webhooks as w", "w.id", "d.webhook_id")
        .select(["d.id", "w.secret", "w.previous_secret", "w.previous_secret_expires_at", "w.signing_key"])
        .where("d.id", "in", [...batch.keys()])
        .execute();
      const byId = new Map(rows.map((r) => [r.id, r]));
      for (const [id, callers] of batch) for (const c of callers) c.resolve(byId.get(id));
    } catch (err) {
      for (const callers of batch.values()) for (const c of callers) c.reject(err);
    }
  };
  return (deliveryId) =>
    new Promise((resolve, reject) => {
      if (!waiting) {
        const batch = (waiting = new Map());
        setImmediate(() => {
          waiting = null;
          void flush(batch);
        });
      }
      const callers = waiting.get(deliveryId) ?? [];
      callers.push({ resolve, reject });
      waiting.set(deliveryId, callers);
    });
}
