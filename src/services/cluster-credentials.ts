/**
 * Credentials on PostgreSQL: a node started without HOOKLINE_ADMIN_TOKEN or HOOKLINE_SECRET_KEY
 * uses the cluster's, stored once in the database by the first node that needed one, instead of
 * generating its own (which no other node would accept). The admin token is stored as its SHA-256
 * (nodes check requests against the hash; only the node that generated it prints it, once); the
 * secret key signs portal tokens on every node, so it is stored as a value, sealed with
 * HOOKLINE_ENCRYPTION_KEY when that is set. No file is read: ./data of a node's working directory
 * is the SQLite store's (the demo of `npm start` writes its token there), not the cluster's.
 */
import { open, seal, sealedWith } from "../domain/secret-box.js";
import { ConfigError } from "../config.js";
import { claimCredential, findCredential, replaceCredential } from "../store/cluster-credentials.js";
import type { Context } from "./context.js";
import { newAdminToken, newSecretKey, sha256, type Credentials } from "./tokens.js";

export async function loadClusterCredentials(ctx: Context): Promise<Credentials> {
  const { config, store } = ctx;
  const now = ctx.now();
  let adminToken: string | null = config.adminToken ?? null;
  let adminTokenHash = adminToken === null ? null : sha256(adminToken);
  let generatedAdminToken = false;
  if (adminToken === null) {
    const offered = newAdminToken();
    const stored = await claimCredential(store.db, "admin_token_sha256", sha256(offered).toString("hex"), now);
    adminTokenHash = Buffer.from(stored, "hex");
    if (adminTokenHash.equals(sha256(offered))) {
      adminToken = offered;
      generatedAdminToken = true;
    }
  }
  let secretKey = config.secretKey;
  if (!secretKey) {
    const offered = newSecretKey();
    const stored = await claimCredential(store.db, "secret_key", config.encryptionKey ? seal(config.encryptionKey, offered) : offered, now);
    try {
      secretKey = open(config.encryptionKey, stored);
    } catch (err) {
      throw new ConfigError(
        "HOOKLINE_ENCRYPTION_KEY",
        `cannot open the cluster's secret key stored in the database (${(err as Error).message}); set HOOKLINE_SECRET_KEY or the encryption key it was sealed with`,
      );
    }
  }
  return { adminToken, adminTokenHash: adminTokenHash!, secretKey, generatedAdminToken };
}

/**
 * `hookline rotate-key`: re-seals the cluster's stored secret key with the current encryption key,
 * so the old key can be dropped. Answers whether it changed anything.
 */
export async function resealClusterSecretKey(ctx: Context): Promise<boolean> {
  const ring = ctx.config.encryptionKey;
  if (!ring) return false;
  const stored = await findCredential(ctx.store.db, "secret_key");
  if (stored === undefined || sealedWith(stored) === ring.currentId) return false;
  await replaceCredential(ctx.store.db, "secret_key", seal(ring, open(ring, stored)));
  return true;
}
