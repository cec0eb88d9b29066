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

/** What signs an attempt besides the current secret: a rotated-out secret still valid, a signing key. */
export interface ExtraSigners {
  /** The secret before the last rotation, while it is still valid (its `v1,` value comes second). */
  previousSecret?: string | null;
  /** The webhook's Ed25519 private key (base64 PKCS#8 DER): adds a `v1a,` value. */
  signingKey?: string | null;
}

export function buildAttemptHeaders(
  a: {
    event: string;
    deliveryId: string;
    attempt: number;
    secret: string | null;
    body: string;
    userAgent: string;
    now: Date;
  } & ExtraSigners,
): Record<string, string> {
  const headers: Record<string, string> = {
    "Content-Type": "application/json",
    "User-Agent": a.userAgent,
    "Hookline-Event": a.event,
    "Hookline-Delivery": a.deliveryId,
    "Hookline-Attempt": String(a.attempt),
  };
  // An empty secret cannot be saved (webhook-rules); treating it as none avoids signing with an empty key.
  if (a.secret) {
    const timestamp = Math.floor(a.now.getTime() / 1000);
    headers["Signature"] = signBody(a.secret, a.body);
    headers["webhook-id"] = a.deliveryId;
    headers["webhook-timestamp"] = String(timestamp);
    headers["webhook-signature"] = standardSignature(a.secret, a.deliveryId, timestamp, a.body);
  }
  addSignatures(headers, { deliveryId: a.deliveryId, body: a.body, now: a.now, previousSecret: a.previousSecret, signingKey: a.signingKey });
  return headers;
}

/**
 * Appends the previous secret's `v1,` value (after the current one: receivers holding the new secret
 * match first) and the `v1a,` value to `webhook-signature`, in place. Without a current secret the
 * Standard Webhooks id and timestamp headers are added here; with one, its timestamp is reused.
 */
export function addSignatures(headers: Record<string, string>, a: { deliveryId: string; body: string; now: Date } & ExtraSigners): void {
  const signers = [a.previousSecret && headers["webhook-signature"] ? a.previousSecret : null, a.signingKey ?? null];
  if (!signers.some(Boolean)) return;
  if (!headers["webhook-timestamp"]) {
    headers["webhook-id"] = a.deliveryId;
    headers["webhook-timestamp"] = String(Math.floor(a.now.getTime() / 1000));
  }
  const timestamp = Number(headers["webhook-timestamp"]);
  const values = headers["webhook-signature"] ? [headers["webhook-signature"]] : [];
  if (signers[0]) values.push(standardSignature(signers[0], a.deliveryId, timestamp, a.body));
  if (signers[1]) values.push(asymmetricSignature(signers[1], a.deliveryId, timestamp, a.body));
  headers["webhook-signature"] = values.join(" ");
}
