/** Webhook secrets through the configured key ring (see domain/secret-box.ts). */
import { open, seal, sealedWith } from "../domain/secret-box.js";
import type { Context } from "./context.js";

export function sealSecret(ctx: Context, plaintext: string): string {
  return ctx.config.encryptionKey ? seal(ctx.config.encryptionKey, plaintext) : plaintext;
}

export function openSecret(ctx: Context, stored: string): string {
  return open(ctx.config.encryptionKey, stored);
}

/** Re-seals every secret not sealed with the current key (plaintext ones included). */
export async function rotateSecrets(ctx: Context): Promise<{ resealed: number; total: number }> {
  const ring = ctx.config.encryptionKey;
  if (!ring) throw new Error("HOOKLINE_ENCRYPTION_KEY is not set: there is no key to rotate to.");
  const rows = await ctx.store.db.selectFrom("webhooks").select(["id", "secret"]).where("secret", "is not", null).execute();
  let resealed = 0;
  for (const row of rows) {
    if (sealedWith(row.secret!) === ring.currentId) continue;
    const plaintext = open(ring, row.secret!);
    // Conditional on the old value, so a concurrent PATCH of the secret is never overwritten.
    const res = await ctx.store.db
      .updateTable("webhooks")
      .set({ secret: seal(ring, plaintext) })
      .where("id", "=", row.id)
      .where("secret", "=", row.secret)
      .executeTakeFirst();
    resealed += Number(res.numUpdatedRows);
  }
  return { resealed, total: rows.length };
}
