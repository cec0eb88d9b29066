/**
 * The two signatures every delivery with a secret carries (docs/receivers.md, "Verifying signatures"): our own `Signature` header,
 * and the Standard Webhooks one so receivers can use an off-the-shelf verifier.
 * The key is always the secret's UTF-8 bytes, never a base64 decoding of it.
 */
import { createHmac } from "node:crypto";

/** Lowercase hex HMAC-SHA256 of the exact body bytes. */
export function signBody(secret: string, body: string | Buffer): string {
  return createHmac("sha256", Buffer.from(secret, "utf8")).update(body).digest("hex");
}

/** `v1,` + base64 HMAC-SHA256 of `${msgId}.${timestampSeconds}.${body}`. */
export function standardSignature(
  secret: string,
  msgId: string,
  timestampSeconds: number,
  body: string | Buffer,
): string {
  // A fractional timestamp would be signed as "1.5" while receivers parse the header as an integer.
  if (!Number.isSafeInteger(timestampSeconds)) {
    throw new RangeError(`timestampSeconds must be whole unix seconds, got ${timestampSeconds}.`);
  }
  // The body is fed as bytes, not interpolated, so a Buffer is signed exactly as it will be sent.
  const mac = createHmac("sha256", Buffer.from(secret, "utf8"))
    .update(`${msgId}.${timestampSeconds}.`, "utf8")
    .update(body)
    .digest("base64");
  return `v1,${mac}`;
}
