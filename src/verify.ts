/**
 * For receivers of Hookline webhooks: `import { verifyWebhook } from "hookline/verify"`.
 *
 * Self-contained on purpose (only node:crypto): a receiver installs Hookline to verify requests and
 * must not load its database drivers or web server to do so.
 *
 * Always pass the raw request body, as received: re-serialising parsed JSON changes the bytes and
 * the signature no longer matches.
 */
import { createHmac, createPublicKey, timingSafeEqual, verify, type KeyObject } from "node:crypto";

export type RawBody = string | Buffer | Uint8Array;
export type HeaderBag = Record<string, string | string[] | undefined> | Headers;

export type WebhookVerificationErrorCode = "missing_header" | "invalid_timestamp" | "timestamp_out_of_tolerance" | "invalid_signature" | "invalid_body";

export class WebhookVerificationError extends Error {
  constructor(
    readonly code: WebhookVerificationErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "WebhookVerificationError";
  }
}

/**
 * What a receiver verifies with: the webhook's secret (the `v1,` values; several secrets may be given
 * while you switch over), its published Ed25519 public key "whpk_…" (the `v1a,` value), or both
 * (either matching is enough). A plain string is a secret.
 */
export type VerificationKey = string | { secret?: string | string[]; publicKey?: string };

export interface VerifyWebhookOptions {
  /** How far `webhook-timestamp` may be from now, either way, in seconds. Default 300. */
  toleranceSeconds?: number;
  /** The current time; for tests and for re-checking stored requests. */
  now?: Date;
}

const DEFAULT_TOLERANCE_SECONDS = 300;

function bodyBytes(rawBody: RawBody): Uint8Array {
  if (typeof rawBody === "string") return Buffer.from(rawBody, "utf8");
  if (rawBody instanceof Uint8Array) return rawBody;
  // A parsed JSON object here is the classic mistake; failing loudly beats "invalid signature".
  throw new TypeError("rawBody must be the raw request body (string, Buffer or Uint8Array), not parsed JSON.");
}

function keyBytes(secret: string): Buffer {
  if (typeof secret !== "string" || secret === "") {
    throw new TypeError("secret must be the webhook's secret, a non-empty string.");
  }
  return Buffer.from(secret, "utf8");
}

/** Compares strings without revealing where they first differ; only the (public) length may leak. */
function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a, "utf8");
  const right = Buffer.from(b, "utf8");
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * Checks the `Signature` header: lowercase hex HMAC-SHA256 of the raw body. Returns false for a
 * missing, malformed or wrong signature; throws only on a programming error (no secret, parsed body).
 * It has no timestamp, so it cannot detect replays; prefer `verifyWebhook` where you can.
 */
export function verifySignature(secret: string, rawBody: RawBody, signature: string | string[] | undefined | null): boolean {
  const key = keyBytes(secret);
  const body = bodyBytes(rawBody);
  const candidates = (Array.isArray(signature) ? signature : [signature]).filter((s): s is string => typeof s === "string");
  if (candidates.length === 0) return false;
  const expected = createHmac("sha256", key).update(body).digest("hex");
  return candidates.some((c) => sameText(c.trim().toLowerCase(), expected));
}

function readHeader(headers: HeaderBag, name: string): string | undefined {
  if (typeof (headers as Headers).get === "function") return (headers as Headers).get(name) ?? undefined;
  for (const [key, value] of Object.entries(headers as Record<string, string | string[] | undefined>)) {
    if (key.toLowerCase() === name) return Array.isArray(value) ? value.join(" ") : value;
  }
  return undefined;
}

function standardMac(key: Buffer, msgId: string, timestamp: string, body: Uint8Array): string {
  return createHmac("sha256", key).update(`${msgId}.${timestamp}.`, "utf8").update(body).digest("base64");
}

const PUBLIC_KEY = /^whpk_([A-Za-z0-9+/]{43}=)$/;

function publicKeyObject(publicKey: string): KeyObject {
  const m = typeof publicKey === "string" ? PUBLIC_KEY.exec(publicKey.trim()) : null;
  const raw = m ? Buffer.from(m[1], "base64") : null;
  if (!raw || raw.length !== 32) {
    throw new TypeError('publicKey must be the webhook\'s public key as shown by Hookline: "whpk_" + base64 of 32 bytes.');
  }
  return createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: raw.toString("base64url") }, format: "jwk" });
}

/** The secrets and public key to try, checked before anything is read from the request. */
function verificationKeys(key: VerificationKey): { secrets: Buffer[]; publicKey: KeyObject | null } {
  if (typeof key === "string") return { secrets: [keyBytes(key)], publicKey: null };
  if (typeof key !== "object" || key === null) throw new TypeError("Pass the webhook's secret, or { secret } or { publicKey }.");
  const secrets = key.secret === undefined ? [] : (Array.isArray(key.secret) ? key.secret : [key.secret]).map(keyBytes);
  const publicKey = key.publicKey === undefined ? null : publicKeyObject(key.publicKey);
  if (secrets.length === 0 && !publicKey) throw new TypeError("Pass { secret } or { publicKey } (or both).");
  return { secrets, publicKey };
}

/**
 * Verifies a delivery by its Standard Webhooks headers (`webhook-id`, `webhook-timestamp`,
 * `webhook-signature`) and returns the parsed JSON body.
 *
 * The timestamp window stops replays of old captures; within the window, deduplicate on
 * `webhook-id` (Hookline delivers at least once, so the same id can legitimately arrive twice).
 */
export function verifyWebhook(key: VerificationKey, rawBody: RawBody, headers: HeaderBag, opts: VerifyWebhookOptions = {}): unknown {
  const keys = verificationKeys(key);
  const body = bodyBytes(rawBody);
  const tolerance = opts.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (!(Number.isFinite(tolerance) && tolerance >= 0)) {
    throw new TypeError("toleranceSeconds must be a non-negative number of seconds.");
  }

  const msgId = readHeader(headers, "webhook-id")?.trim();
  const timestamp = readHeader(headers, "webhook-timestamp")?.trim();
  const signatures = readHeader(headers, "webhook-signature")?.trim();
  const missing = [msgId ? null : "webhook-id", timestamp ? null : "webhook-timestamp", signatures ? null : "webhook-signature"].filter(
    (h): h is string => h !== null,
  );
  if (missing.length > 0 || !msgId || !timestamp || !signatures) {
    throw new WebhookVerificationError("missing_header", `Missing header ${missing.join(", ")}.`);
  }

  if (!/^\d{1,15}$/.test(timestamp)) {
    throw new WebhookVerificationError("invalid_timestamp", "webhook-timestamp must be whole unix seconds.");
  }
  const nowSeconds = Math.floor((opts.now ?? new Date()).getTime() / 1000);
  const age = nowSeconds - Number(timestamp);
  if (Math.abs(age) > tolerance) {
    throw new WebhookVerificationError(
      "timestamp_out_of_tolerance",
      age > 0
        ? `webhook-timestamp is ${age} s old, more than the ${tolerance} s allowed (a replay, or a clock out of sync).`
        : `webhook-timestamp is ${-age} s in the future, more than the ${tolerance} s allowed (check the clocks).`,
    );
  }

  // Several space-separated entries: an old and a new secret during a rotation, and a `v1a,` value
  // when the webhook has a signing key. Any one matching a key we hold is enough.
  const entries = signatures.split(/\s+/).map((entry) => entry.replace(/,$/, ""));
  const expected = keys.secrets.map((k) => standardMac(k, msgId, timestamp, body));
  const macMatches = entries.some((entry) => entry.startsWith("v1,") && expected.some((e) => sameText(entry.slice(3), e)));
  const signed = keys.publicKey ? Buffer.concat([Buffer.from(`${msgId}.${timestamp}.`, "utf8"), body]) : null;
  const keyMatches =
    signed !== null &&
    entries.some((entry) => {
      if (!entry.startsWith("v1a,")) return false;
      const sig = Buffer.from(entry.slice(4), "base64");
      return sig.length === 64 && verify(null, signed, keys.publicKey!, sig);
    });
  if (!macMatches && !keyMatches) {
    throw new WebhookVerificationError(
      "invalid_signature",
      keys.publicKey && keys.secrets.length === 0
        ? "webhook-signature has no v1a value that this public key verifies: wrong key, no signing key on the webhook, or the body was changed (pass the raw body)."
        : "webhook-signature does not match: wrong secret, or the body was changed (pass the raw body, not re-serialised JSON).",
    );
  }

  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
  } catch {
    throw new WebhookVerificationError("invalid_body", "The signature is valid but the body is not UTF-8 JSON.");
  }
}
