/**
 * The signatures a delivery carries (docs/receivers.md, "Verifying signatures"): our own `Signature` header (HMAC of the
 * body with the secret), and the Standard Webhooks ones so receivers can use an off-the-shelf
 * verifier: `v1,` (HMAC with a secret) and `v1a,` (Ed25519 with the webhook's signing key).
 * An HMAC key is always the secret's UTF-8 bytes, never a base64 decoding of it.
 */
import { createHmac, createPrivateKey, createSecretKey, generateKeyPairSync, sign, type KeyObject } from "node:crypto";

/** Prefix of a published Ed25519 public key: "whpk_" + base64 of the raw 32 bytes. */
export const PUBLIC_KEY_PREFIX = "whpk_";

/** Lowercase hex HMAC-SHA256 of the exact body bytes. */
export function signBody(secret: string, body: string | Buffer): string {
  return createHmac("sha256", hmacKey(secret)).update(body).digest("hex");
}

/** HMAC keys kept (one per webhook secret in use, two while it rotates); past this many the cache starts over. */
const HMAC_KEY_CACHE_SIZE = 4096;
const hmacKeys = new Map<string, KeyObject>();

/**
 * The secret's UTF-8 bytes as a KeyObject, made once per process or thread: `createHmac` imports a
 * string key again at each call, about a sixth of the HMAC of a small body (docs/performance.md,
 * "Sender thread to its floor").
 */
function hmacKey(secret: string): KeyObject {
  let key = hmacKeys.get(secret);
  if (key === undefined) {
    key = createSecretKey(Buffer.from(secret, "utf8"));
    if (hmacKeys.size >= HMAC_KEY_CACHE_SIZE) hmacKeys.clear();
    hmacKeys.set(secret, key);
  }
  return key;
}

function checkTimestamp(timestampSeconds: number): void {
  // A fractional timestamp would be signed as "1.5" while receivers parse the header as an integer.
  if (!Number.isSafeInteger(timestampSeconds)) {
    throw new RangeError(`timestampSeconds must be whole unix seconds, got ${timestampSeconds}.`);
  }
}

/** `v1,` + base64 HMAC-SHA256 of `${msgId}.${timestampSeconds}.${body}`. */
export function standardSignature(secret: string, msgId: string, timestampSeconds: number, body: string | Buffer): string {
  checkTimestamp(timestampSeconds);
  // The body is fed as bytes, not interpolated, so a Buffer is signed exactly as it will be sent.
  const mac = createHmac("sha256", hmacKey(secret)).update(`${msgId}.${timestampSeconds}.`, "utf8").update(body).digest("base64");
  return `v1,${mac}`;
}

/** `v1a,` + base64 Ed25519 signature of `${msgId}.${timestampSeconds}.${body}`. */
export function asymmetricSignature(privateKey: string, msgId: string, timestampSeconds: number, body: string | Buffer): string {
  checkTimestamp(timestampSeconds);
  const message = Buffer.concat([Buffer.from(`${msgId}.${timestampSeconds}.`, "utf8"), Buffer.isBuffer(body) ? body : Buffer.from(body, "utf8")]);
  return `v1a,${sign(null, message, parsedKey(privateKey)).toString("base64")}`;
}

/** Parsed private keys kept (one per webhook with a signing key in use); past this many the cache starts over. */
const KEY_CACHE_SIZE = 1000;
const parsedKeys = new Map<string, KeyObject>();

/**
 * The key parsed once per process or thread: parsing PKCS#8 DER takes OpenSSL 3 about 0.5 ms, more
 * than ten times the Ed25519 signature itself (docs/performance.md, "Sender thread CPU").
 */
function parsedKey(privateKey: string): KeyObject {
  let key = parsedKeys.get(privateKey);
  if (key === undefined) {
    key = createPrivateKey({ key: Buffer.from(privateKey, "base64"), format: "der", type: "pkcs8" });
    if (parsedKeys.size >= KEY_CACHE_SIZE) parsedKeys.clear();
    parsedKeys.set(privateKey, key);
  }
  return key;
}

/** A new Ed25519 key pair: the private key as base64 PKCS#8 DER (to store), the public key as published. */
export function newSigningKey(): { privateKey: string; publicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return { privateKey: privateKey.export({ format: "der", type: "pkcs8" }).toString("base64"), publicKey: publishedPublicKey(publicKey) };
}

function publishedPublicKey(key: KeyObject): string {
  // The raw 32 bytes are the JWK's `x`; PEM/DER would wrap them in an ASN.1 header receivers must strip.
  const raw = Buffer.from(key.export({ format: "jwk" }).x!, "base64url");
  return PUBLIC_KEY_PREFIX + raw.toString("base64");
}
