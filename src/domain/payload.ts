/**
 * The bytes and headers of a delivery attempt (docs/receivers.md, "The request"). The body is built once, when the event is
 * published, and stored; retries resend it unchanged and only the headers are rebuilt.
 */
import { signBody, standardSignature } from "./signing.js";

export const TEST_EVENT_MESSAGE = "This is a test event from Hookline.";

export function buildEventBody(e: {
  id: string;
  event: string;
  createdAt: Date;
  projectId: string;
  subject: unknown;
}): string {
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

export function buildAttemptHeaders(a: {
  event: string;
  deliveryId: string;
  attempt: number;
  secret: string | null;
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
  // An empty secret cannot be saved (webhook-rules); treating it as none avoids signing with an empty key.
  if (a.secret) {
    const timestamp = Math.floor(a.now.getTime() / 1000);
    headers["Signature"] = signBody(a.secret, a.body);
    headers["webhook-id"] = a.deliveryId;
    headers["webhook-timestamp"] = String(timestamp);
    headers["webhook-signature"] = standardSignature(a.secret, a.deliveryId, timestamp, a.body);
  }
  return headers;
}
