/** Webhook secrets through the configured key ring (see domain/secret-box.ts). */
import { open, seal, sealedWith } from "../domain/secret-box.js";
import type { Context } from "./context.js";

export function sealSecret(ctx: Context, plaintext: string): string {
  return ctx.config.encryptionKey ? seal(ctx.config.encryptionKey, plaintext) : plaintext;
}

export function openSecret(ctx: Context, stored: string): string {
  return open(ctx.config.encryptionKey, stored);
}

/**
 * The columns holding values sealed like secrets: the secret, a rotated-out one, the signing key, the
 * receiver auth's secret and the client certificate's private key.
 */
const SEALED_COLUMNS = ["secret", "previous_secret", "signing_key", "auth_secret", "client_key"] as const;

/** Re-seals every stored secret and signing key not sealed with the current key (plaintext ones included). */
export async function rotateSecrets(ctx: Context): Promise<{ resealed: number; total: number }> {
  const ring = ctx.config.encryptionKey;
  if (!ring) throw new Error("HOOKLINE_ENCRYPTION_KEY is not set: there is no key to rotate to.");
  let resealed = 0;
  let total = 0;
  for (const column of SEALED_COLUMNS) {
    const rows = await ctx.store.db
      .selectFrom("webhooks")
      .select(["id", `${column} as value`])
      .where(column, "is not", null)
      .execute();
    total += rows.length;
    for (const row of rows) {
      const stored = row.value as string;
      if (sealedWith(stored) === ring.currentId) continue;
      const plaintext = open(ring, stored);
      // Conditional on the old value, so a concurrent change of it is never overwritten.
      const res = await ctx.store.db
        .updateTable("webhooks")
        .set({ [column]: seal(ring, plaintext) })
        .where("id", "=", row.id)
        .where(column, "=", stored)
        .executeTakeFirst();
      resealed += Number(res.numUpdatedRows);
    }
  }
  return { resealed, total };
}
