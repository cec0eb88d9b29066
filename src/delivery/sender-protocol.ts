/**
 * The messages between the worker (main thread) and a sender thread. Jobs and results travel in
 * batches, one message per turn of either event loop, so the cost of a message is shared by every
 * attempt started or finished in that turn. A batch travels as one JSON string of compact arrays
 * (a job or result is an array of its fields in a fixed order, headers a flat name/value array):
 * cheaper on both threads than the structured clone of an object per job and result
 * (docs/performance.md, "Sender thread CPU").
 */
import type { LookupAddress } from "node:dns";
import type { UrlPolicy } from "../domain/url-policy.js";
import type { AttemptJob, SentAttempt } from "./attempt-job.js";

/** What a sender thread is started with (structured-cloneable: no functions, no Buffers). */
export interface SenderThreadData {
  /** The thread's place in the pool: its name in the OS (`hookline-send-N`). */
  index: number;
  timeoutMs: number;
  urlPolicy: UrlPolicy;
  /** Sockets one webhook may hold in this thread: the per-webhook cap. */
  connectionsPerWebhook: number;
  /** This thread's share of the process's socket bound. */
  maxSockets: number;
  /** PEM CAs trusted besides Node's roots (tests); NODE_EXTRA_CA_CERTS reaches the thread by itself. */
  ca: string[];
  /** The key ring that opens stored secrets: current key id and [id, base64 key] pairs. */
  keyRing: { currentId: string; keys: [string, string][] } | null;
  /** Resolve host names through the main thread (a resolver given to the runtime, in tests). */
  remoteLookup: boolean;
  /** HOOKLINE_PROXY_URL. */
  proxyUrl?: string;
}

export type ToThread =
  | { type: "send"; jobs: string }
  | { type: "abort"; ids: number[] }
  | { type: "lookup-answer"; id: number; addresses?: LookupAddress[]; error?: { message: string; code?: string; syscall?: string } }
  | { type: "close" };

export type FromThread = { type: "results"; results: string } | { type: "lookup"; id: number; hostname: string; family?: number };

export interface JobEntry {
  id: number;
  job: AttemptJob;
}

/** One attempt's answer: what was sent and how it went, or why nothing could be (the thread's error). */
export interface ResultEntry {
  id: number;
  sent?: SentAttempt;
  error?: string;
}

type JobRow = [
  id: number,
  webhookId: string,
  url: string,
  body: string,
  event: string,
  deliveryId: string,
  attempt: number,
  secret: string | null,
  previousSecret: string | null,
  signingKey: string | null,
  headers: string | null,
  auth: string | null,
  authSecret: string | null,
  clientCert: string | null,
  clientKey: string | null,
  now: number,
  traceparent: string | null,
];

export function encodeJobs(jobs: JobEntry[]): string {
  const rows: JobRow[] = new Array<JobRow>(jobs.length);
  for (let i = 0; i < jobs.length; i++) {
    const { id, job: j } = jobs[i];
    rows[i] = [
      id,
      j.webhookId,
      j.url,
      j.body,
      j.event,
      j.deliveryId,
      j.attempt,
      j.secret,
      j.previousSecret,
      j.signingKey,
      j.headers,
      j.auth,
      j.authSecret,
      j.clientCert,
      j.clientKey,
      j.now,
      j.traceparent ?? null,
    ];
  }
  return JSON.stringify(rows);
}

export function decodeJobs(text: string): JobEntry[] {
  const rows = JSON.parse(text) as JobRow[];
  const out: JobEntry[] = new Array<JobEntry>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    const job: AttemptJob = {
      webhookId: r[1],
      url: r[2],
      body: r[3],
      event: r[4],
      deliveryId: r[5],
      attempt: r[6],
      secret: r[7],
      previousSecret: r[8],
      signingKey: r[9],
      headers: r[10],
      auth: r[11],
      authSecret: r[12],
      clientCert: r[13],
      clientKey: r[14],
      now: r[15],
    };
    if (r[16] !== null) job.traceparent = r[16];
    out[i] = { id: r[0], job };
  }
  return out;
}

type ResultRow =
  | [id: number, error: string]
  | [
      id: number,
      error: null,
      headers: string[],
      success: boolean,
      statusCode: number | null,
      error: string | null,
      durationMs: number,
      timedOut: boolean,
      response: [status: number, headers: string[], body: string, truncated: boolean] | null,
    ];

export function encodeResults(results: ResultEntry[]): string {
  const rows: ResultRow[] = new Array<ResultRow>(results.length);
  for (let i = 0; i < results.length; i++) {
    const { id, sent, error } = results[i];
    if (!sent) {
      rows[i] = [id, error ?? "the sender thread gave no result"];
      continue;
    }
    const r = sent.result;
    const res = r.response;
    rows[i] = [
      id,
      null,
      toPairs(sent.headers),
      r.success,
      r.statusCode,
      r.error,
      r.durationMs,
      r.timedOut,
      res && [res.status, toPairs(res.headers), res.body, res.truncated],
    ];
  }
  return JSON.stringify(rows);
}

export function decodeResults(text: string): ResultEntry[] {
  const rows = JSON.parse(text) as ResultRow[];
  const out: ResultEntry[] = new Array<ResultEntry>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    if (r[1] !== null) {
      out[i] = { id: r[0], error: r[1] };
      continue;
    }
    const res = r[8];
    out[i] = {
      id: r[0],
      sent: {
        headers: fromPairs(r[2]),
        result: {
          success: r[3],
          statusCode: r[4],
          error: r[5],
          durationMs: r[6],
          response: res && { status: res[0], headers: fromPairs(res[1]), body: res[2], truncated: res[3] },
          timedOut: r[7],
        },
      },
    };
  }
  return out;
}

function toPairs(headers: Record<string, string>): string[] {
  const pairs: string[] = [];
  for (const name in headers) pairs.push(name, headers[name]);
  return pairs;
}

/** Back to an object in the same order; a header named `__proto__` stays an own key. */
function fromPairs(pairs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    if (pairs[i] === "__proto__") Object.defineProperty(out, "__proto__", { value: pairs[i + 1], enumerable: true, configurable: true, writable: true });
    else out[pairs[i]] = pairs[i + 1];
  }
  return out;
}
