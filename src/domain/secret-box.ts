/**
 * Webhook secrets at rest: AES-256-GCM under a key ring from HOOKLINE_ENCRYPTION_KEY. Each stored
 * value names the key that sealed it (`enc:v1:<key id>:<base64 iv|tag|ciphertext>`), so keys can be
 * rotated: put the new key first, keep the old ones after it until `hookline rotate-key` has
 * re-sealed every secret. Values without the prefix are plaintext from before encryption was on.
 */
import crypto from "node:crypto";

const PREFIX = "enc:v1:";

export interface KeyRing {
  /** The key new values are sealed with. */
  currentId: string;
  keys: Map<string, Buffer>;
}

/**
 * Parses `base64key` or `id1:base64key1,id2:base64key2` (first = current). Keys are 32 bytes.
 * Throws with a message naming what is wrong (the config layer adds the variable name).
 */
export function parseKeyRing(raw: string): KeyRing {
  const keys = new Map<string, Buffer>();
  let currentId = "";
  const parts = raw
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean);
  if (parts.length === 0) throw new Error("must be a base64 32-byte key, or a comma list of id:key pairs (first is current)");
  parts.forEach((part, i) => {
    const m = /^(?:([A-Za-z0-9_-]{1,32}):)?([A-Za-z0-9+/=_-]+)$/.exec(part);
    if (!m) throw new Error(`entry ${i + 1} must be id:base64key`);
    const id = m[1] ?? (parts.length === 1 ? "k1" : "");
    if (!id) throw new Error("with several keys, each needs an id (id:base64key)");
    const key = Buffer.from(m[2], "base64");
    if (key.length !== 32) throw new Error(`key "${id}" must decode to 32 bytes (generate one with: openssl rand -base64 32), got ${key.length}`);
    if (keys.has(id)) throw new Error(`key id "${id}" appears twice`);
    keys.set(id, key);
    if (i === 0) currentId = id;
  });
  return { currentId, keys };
}

export function isSealed(value: string): boolean {
  return value.startsWith(PREFIX);
}

export function seal(ring: KeyRing, plaintext: string): string {
  const iv = crypto.randomBytes(12);
  const cipher = crypto.createCipheriv("aes-256-gcm", ring.keys.get(ring.currentId)!, iv);
  const ct = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return `${PREFIX}${ring.currentId}:${Buffer.concat([iv, cipher.getAuthTag(), ct]).toString("base64")}`;
}

/** A stored value that the configured key ring cannot open; the message names the key and what to do. */
export class UnreadableSecretError extends Error {
  readonly code = "ERR_HOOKLINE_UNREADABLE_SECRET";
}

/** Opens a stored value; plaintext (unsealed) values pass through. Throws UnreadableSecretError if the ring cannot open it. */
export function open(ring: KeyRing | null, stored: string): string {
  if (!isSealed(stored)) return stored;
  const rest = stored.slice(PREFIX.length);
  const colon = rest.indexOf(":");
  const id = rest.slice(0, colon);
  const key = ring?.keys.get(id);
  if (!key) {
    throw new UnreadableSecretError(
      `webhook secret is sealed with key "${id}", which HOOKLINE_ENCRYPTION_KEY does not hold ` +
        (ring ? `(it holds ${[...ring.keys.keys()].map((k) => `"${k}"`).join(", ")}); ` : "(it is not set); ") +
        `put key "${id}" back in HOOKLINE_ENCRYPTION_KEY, or set a new secret on the webhook`,
    );
  }
  const data = Buffer.from(rest.slice(colon + 1), "base64");
  const decipher = crypto.createDecipheriv("aes-256-gcm", key, data.subarray(0, 12));
  decipher.setAuthTag(data.subarray(12, 28));
  try {
    return Buffer.concat([decipher.update(data.subarray(28)), decipher.final()]).toString("utf8");
  } catch {
    throw new UnreadableSecretError(
      `webhook secret cannot be decrypted with key "${id}" of HOOKLINE_ENCRYPTION_KEY (a different key under the same id?); ` +
        `put the key it was sealed with back, or set a new secret on the webhook`,
    );
  }
}

/** The key id a stored value is sealed with, or null for plaintext. */
export function sealedWith(stored: string): string | null {
  if (!isSealed(stored)) return null;
  const rest = stored.slice(PREFIX.length);
  return rest.slice(0, rest.indexOf(":"));
}
