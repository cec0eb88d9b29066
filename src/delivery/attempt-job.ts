/**
 * One delivery attempt as the sender thread makes it: open the stored secrets, sign (HMAC, Ed25519),
 * send, and answer the headers exactly as sent with the result. The worker (main thread) hands these
 * jobs over in batches and keeps the claim, its slots, the spans and the recorder.
 */
import { buildAttemptHeaders } from "../domain/payload.js";
import { open, UnreadableSecretError, type KeyRing } from "../domain/secret-box.js";
import { HOOKLINE_VERSION } from "../version.js";
import type { AttemptResult, Sender } from "./sender.js";

const USER_AGENT = `Hookline/${HOOKLINE_VERSION}`;

export interface AttemptJob {
  /** The webhook the attempt is for: it is sent on that webhook's own connections. */
  webhookId: string;
  url: string;
  /** The exact body fixed at publish time. */
  body: string;
  event: string;
  deliveryId: string;
  attempt: number;
  /** As stored (sealed under the key ring, or plaintext); null: unsigned. */
  secret: string | null;
  /** The rotated-out secret, as stored, only while it is still valid. */
  previousSecret: string | null;
  /** The Ed25519 private key, as stored. */
  signingKey: string | null;
  /** The attempt's time (epoch ms, the worker's clock): the signatures' timestamp. */
  now: number;
  /** W3C traceparent of the attempt's span (tracing on). */
  traceparent?: string;
}

export interface SentAttempt {
  /** The request headers exactly as sent: what the delivery log shows. */
  headers: Record<string, string>;
  result: AttemptResult;
}

export function attemptHeaders(job: AttemptJob, ring: KeyRing | null): Record<string, string> {
  const headers = buildAttemptHeaders({
    event: job.event,
    deliveryId: job.deliveryId,
    attempt: job.attempt,
    secret: job.secret === null ? null : open(ring, job.secret),
    // A rotated-out secret signs too until it expires; a signing key adds the `v1a,` value.
    previousSecret: job.previousSecret === null ? null : open(ring, job.previousSecret),
    signingKey: job.signingKey === null ? null : open(ring, job.signingKey),
    body: job.body,
    userAgent: USER_AGENT,
    now: new Date(job.now),
  });
  if (job.traceparent) headers.traceparent = job.traceparent;
  return headers;
}

/**
 * Signs and sends one attempt. A secret the key ring cannot open (sealed with a key no longer in
 * HOOKLINE_ENCRYPTION_KEY) is a failed attempt with nothing sent, whose log entry says why: it counts
 * towards the retries and the auto-disable like any failure, instead of coming back at every lease.
 */
export async function runAttempt(sender: Sender, ring: KeyRing | null, job: AttemptJob, signal?: AbortSignal): Promise<SentAttempt> {
  let headers: Record<string, string>;
  try {
    headers = attemptHeaders(job, ring);
  } catch (err) {
    if (!(err instanceof UnreadableSecretError)) throw err;
    const error = `Not sent: the ${err.message}`;
    return { headers: {}, result: { success: false, statusCode: null, error, durationMs: 0, response: null, timedOut: false } };
  }
  const result = await sender.send({ webhookId: job.webhookId, url: job.url, headers, body: job.body }, signal);
  return { headers, result };
}
