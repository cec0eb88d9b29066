/**
 * The bytes and headers of a delivery attempt (docs/receivers.md, "The request"). The body is built once, when the event is
 * published, and stored; retries resend it unchanged and only the headers are rebuilt.
 */
import { asymmetricSignature, signBody, standardSignature } from "./signing.js";

export const TEST_EVENT_MESSAGE = "This is a test event from Hookline.";

export function buildEventBody(e: { id: string; event: string; createdAt: Date; projectId: string; subject: unknown }): string {
  // Object literal order is JSON key order; `?? null` keeps the key when a subject is undefined.
  return JSON.stringify({
    id: e.id,
    event: e.event,
    created_at: e.createdAt.toISOString(),
    project_id: e.projectId,
    subject: e.subject ?? null,
  });
}

export function testSubject(webhookId: string): { webhook_id: string; message: string } {
  return { webhook_id: webhookId, message: TEST_EVENT_MESSAGE };
}

/**
 * The headers of one attempt. The signatures go in `webhook-signature`, space-separated: the current
 * secret's `v1,` value, then a rotated-out secret's (receivers holding the new secret match first),
 * then the signing key's `v1a,` value.
 */
export function buildAttemptHeaders(a: {
  event: string;
  deliveryId: string;
  attempt: number;
  secret: string | null;
  /** The secret before the last rotation, while it is still valid; it signs only beside a current secret. */
  previousSecret?: string | null;
  /** The webhook's Ed25519 private key (base64 PKCS#8 DER): adds a `v1a,` value. */
  signingKey?: string | null;
  body: string;
  userAgent: string;
  now: Date;
}): Record<string, string> {
  const headers: Record<string, string> = {
    "Content-Type": "application/json",
    "User-Agent": a.userAgent,
    "Hookline-Event": a.event,
    "Hookline-Delivery": a.deliveryId,
    "Hookline-Attempt": String(a.attempt),
  };
  const timestamp = Math.floor(a.now.getTime() / 1000);
  const signatures: string[] = [];
  // An empty secret cannot be saved (webhook-rules); treating it as none avoids signing with an empty key.
  if (a.secret) {
    headers["Signature"] = signBody(a.secret, a.body);
    signatures.push(standardSignature(a.secret, a.deliveryId, timestamp, a.body));
    if (a.previousSecret) signatures.push(standardSignature(a.previousSecret, a.deliveryId, timestamp, a.body));
  }
  if (a.signingKey) signatures.push(asymmetricSignature(a.signingKey, a.deliveryId, timestamp, a.body));
  if (signatures.length > 0) {
    headers["webhook-id"] = a.deliveryId;
    headers["webhook-timestamp"] = String(timestamp);
    headers["webhook-signature"] = signatures.join(" ");
  }
  return headers;
}
