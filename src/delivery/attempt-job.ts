/**
 * One delivery attempt as the sender thread makes it: open the stored secrets, sign (HMAC, Ed25519),
 * add the receiver options (custom headers, auth, client certificate), send, and answer the headers
 * as sent, with credentials redacted, and the result. The worker (main thread) hands these jobs over
 * in batches and keeps the claim, its slots, the spans and the recorder; plaintext credentials never
 * leave the sender thread.
 */
import { buildAttemptHeaders } from "../domain/payload.js";
import { joinAuth, staticAuthHeader, type PublicAuth, type ReceiverAuth } from "../domain/receiver-auth.js";
import { isSealed, open as openSealed, UnreadableSecretError, type KeyRing } from "../domain/secret-box.js";
import { HOOKLINE_VERSION } from "../version.js";
import type { OAuth2Tokens } from "./oauth2-tokens.js";
import type { AbortLike, AttemptResult, Sender, SendOptions } from "./sender.js";

export const USER_AGENT = `Hookline/${HOOKLINE_VERSION}`;
/** What the delivery log shows instead of a credential. */
export const REDACTED = "[redacted]";

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
  /** Custom headers, JSON as stored. */
  headers: string | null;
  /** The auth without its secret, JSON as stored, and the secret as stored (sealed or plaintext). */
  auth: string | null;
  authSecret: string | null;
  /** The client certificate (PEM) and its key as stored. */
  clientCert: string | null;
  clientKey: string | null;
  /** The attempt's time (epoch ms, the worker's clock): the signatures' timestamp. */
  now: number;
  /** W3C traceparent of the attempt's span (tracing on). */
  traceparent?: string;
}

export interface SentAttempt {
  /** The request headers as sent, `Authorization` and the auth header redacted: what the delivery log shows. */
  headers: Record<string, string>;
  result: AttemptResult;
}

/** Opened values kept per key ring (one per webhook secret, auth secret and key in use); past this many a ring's cache starts over. */
const OPENED_CACHE_SIZE = 4096;
const openedByRing = new WeakMap<KeyRing, Map<string, string>>();

/**
 * A stored value opened (secret-box.ts), at most once per thread while it stays in use: AES-GCM
 * costs about 5 µs a value, and an attempt opens up to five. A value the ring cannot open is not
 * kept (it throws each time, so the attempt says why).
 */
function open(ring: KeyRing | null, stored: string): string {
  if (ring === null || !isSealed(stored)) return openSealed(ring, stored);
  let cache = openedByRing.get(ring);
  if (cache === undefined) openedByRing.set(ring, (cache = new Map()));
  let value = cache.get(stored);
  if (value === undefined) {
    value = openSealed(ring, stored);
    if (cache.size >= OPENED_CACHE_SIZE) cache.clear();
    cache.set(stored, value);
  }
  return value;
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
 * Signs and sends one attempt. With OAuth2 the token (cached, or fetched within the attempt's budget)
 * goes in `Authorization`, and a 401 answer gets one more try with a fresh token, in the same
 * attempt and budget. A secret the key ring cannot open (sealed with a key no longer in
 * HOOKLINE_ENCRYPTION_KEY: the webhook's secret, its auth's or its client certificate's key) is a
 * failed attempt with nothing sent, whose log entry says why: it counts towards the retries and the
 * auto-disable like any failure, instead of coming back at every lease.
 */
export function runAttempt(sender: Sender, ring: KeyRing | null, job: AttemptJob, signal?: AbortLike, tokens?: OAuth2Tokens): Promise<SentAttempt> {
  return new Promise((resolve, reject) => startAttempt(sender, ring, job, signal, tokens, { done: resolve, fail: reject }));
}

/** Where an attempt started with `startAttempt` answers: exactly one of these is called, once. */
export interface AttemptSink {
  /** What was sent and how it went (every attempt the delivery log must show). */
  done(sent: SentAttempt): void;
  /** An error that left nothing to log (a malformed job). */
  fail(err: unknown): void;
}

/**
 * `runAttempt` answering `sink` instead of a promise, perhaps synchronously: an attempt without
 * OAuth2 makes no promise at all (docs/performance.md, "Sender thread to its floor").
 */
export function startAttempt(
  sender: Sender,
  ring: KeyRing | null,
  job: AttemptJob,
  signal: AbortLike | undefined,
  tokens: OAuth2Tokens | undefined,
  sink: AttemptSink,
): void {
  let opened: Opened;
  try {
    opened = openJob(job, ring);
  } catch (err) {
    if (!(err instanceof UnreadableSecretError)) return sink.fail(err);
    const error = `Not sent: the ${err.message}`;
    return sink.done({ headers: {}, result: { success: false, statusCode: null, error, durationMs: 0, response: null, timedOut: false } });
  }
  const { headers, auth, options } = opened;
  const fixed = auth && staticAuthHeader(auth);
  if (fixed) headers[fixed[0]] = fixed[1];
  if (auth?.type === "oauth2_client_credentials" && tokens) {
    withOAuth2(sender, job, headers, auth, options, signal, tokens).then(
      (sent) => sink.done(sent),
      (err: unknown) => sink.fail(err),
    );
    return;
  }
  const request = { webhookId: job.webhookId, url: job.url, headers, body: job.body };
  sender.start(request, signal, options, (result) => sink.done({ headers: fixed ? redact(headers, fixed[0]) : headers, result }));
}

/** The OAuth2 attempt: a token (cached or fetched), the request, and one retry with a fresh token after a 401. */
async function withOAuth2(
  sender: Sender,
  job: AttemptJob,
  headers: Record<string, string>,
  auth: Extract<ReceiverAuth, { type: "oauth2_client_credentials" }>,
  options: SendOptions,
  signal: AbortLike | undefined,
  tokens: OAuth2Tokens,
): Promise<SentAttempt> {
  const started = performance.now();
  const left = () => sender.timeoutMs - (performance.now() - started);
  const total = (r: AttemptResult): AttemptResult => ({ ...r, durationMs: Math.round(performance.now() - started) });
  const send = () => sender.send({ webhookId: job.webhookId, url: job.url, headers, body: job.body }, signal, options);
  let result: AttemptResult | undefined;
  for (let tries = 0; tries < 2; tries++) {
    const answer = await tokens.token(job.webhookId, auth, left());
    if ("error" in answer) {
      const failed = { success: false, statusCode: null, error: answer.error, durationMs: 0, response: null, timedOut: answer.timedOut || left() <= 0 };
      return { headers: redact(headers, "Authorization"), result: total(failed) };
    }
    headers.Authorization = `Bearer ${answer.token}`;
    options.timeoutMs = left();
    result = await send();
    if (result.statusCode !== 401 || signal?.aborted) break;
    tokens.forget(job.webhookId, answer.token);
  }
  return { headers: redact(headers, "Authorization"), result: total(result!) };
}

interface Opened {
  headers: Record<string, string>;
  auth: ReceiverAuth | null;
  options: SendOptions;
}

/** The job's headers (signed, custom headers added) and its opened credentials. Throws UnreadableSecretError. */
function openJob(job: AttemptJob, ring: KeyRing | null): Opened {
  const signed = attemptHeaders(job, ring);
  // Custom headers come after Hookline's own (they cannot share a name: domain/custom-headers.ts).
  const headers: Record<string, string> = job.headers ? { ...signed, ...(JSON.parse(job.headers) as Record<string, string>) } : signed;
  const auth = job.auth && job.authSecret !== null ? joinAuth(JSON.parse(job.auth) as PublicAuth, open(ring, job.authSecret)) : null;
  const options: SendOptions = {};
  if (job.clientCert && job.clientKey) options.clientCertificate = { cert: job.clientCert, key: open(ring, job.clientKey) };
  return { headers, auth, options };
}

function redact(headers: Record<string, string>, name: string): Record<string, string> {
  return { ...headers, [name]: REDACTED };
}
