/**
 * Entry point of a sender thread (node:worker_threads): signs and sends the attempts the worker hands
 * over and answers their results, batched per turn of the event loop. TLS, undici, HMAC/Ed25519 and
 * response capture thus run beside the main thread's claims, API and delivery log, on another core.
 * Nothing here touches the database: a thread that dies loses no delivery (see sender-threads.ts).
 */
import type { LookupAddress } from "node:dns";
import { writeFileSync } from "node:fs";
import type { LookupFunction } from "node:net";
import { parentPort, workerData } from "node:worker_threads";
import type { KeyRing } from "../domain/secret-box.js";
import { startAttempt, USER_AGENT, type AttemptSink, type SentAttempt } from "./attempt-job.js";
import { OAuth2Tokens } from "./oauth2-tokens.js";
import { decodeJobs, encodeResults, type FromThread, type ResultEntry, type SenderThreadData, type ToThread } from "./sender-protocol.js";
import { Sender, type AbortLike } from "./sender.js";

const port = parentPort!;
const data = workerData as SenderThreadData;
const post = (m: FromThread): void => port.postMessage(m);

// Node leaves a worker thread's OS name at "node": name it, so that top -H, perf and the bench
// (per-thread CPU from /proc/PID/task/TID) can tell the sender threads apart (15 characters at most).
try {
  writeFileSync("/proc/thread-self/comm", `hookline-send-${data.index}`);
} catch {
  // not Linux: the name is only a convenience
}

const ring: KeyRing | null = data.keyRing && {
  currentId: data.keyRing.currentId,
  keys: new Map(data.keyRing.keys.map(([id, key]) => [id, Buffer.from(key, "base64")])),
};

/** Lookups waiting for the main thread's resolver. */
const lookups = new Map<number, (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void>();
let nextLookup = 0;
const remoteLookup: LookupFunction = (hostname, options, callback) => {
  const id = nextLookup++;
  lookups.set(id, (err, addresses) => (err ? callback(err, "") : callback(null, addresses)));
  post({ type: "lookup", id, hostname, family: typeof options.family === "number" ? options.family : undefined });
};

const sender = new Sender({
  timeoutMs: data.timeoutMs,
  urlPolicy: data.urlPolicy,
  connectionsPerWebhook: data.connectionsPerWebhook,
  maxSockets: data.maxSockets,
  ca: data.ca.length > 0 ? data.ca : undefined,
  lookup: data.remoteLookup ? remoteLookup : undefined,
  proxyUrl: data.proxyUrl,
});
/** OAuth2 tokens, cached per webhook for every attempt this thread makes. */
const tokens = new OAuth2Tokens(sender, USER_AGENT);

/**
 * An attempt in flight: its abort (AbortLike) and where it answers (AttemptSink), one object. The
 * worker aborts attempts only at shutdown, so an attempt carries this one-listener object instead of
 * an AbortController and its EventTarget, and no promise or closures of its own.
 */
class RunningAttempt implements AbortLike, AttemptSink {
  aborted = false;
  private listener: (() => void) | undefined;
  private answered = false;
  constructor(private readonly id: number) {}
  addEventListener(_type: "abort", listener: () => void): void {
    this.listener = listener;
  }
  removeEventListener(_type: "abort", listener: () => void): void {
    if (this.listener === listener) this.listener = undefined;
  }
  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    const listener = this.listener;
    this.listener = undefined;
    listener?.();
  }
  /** The attempt's answer (once): what was sent. */
  done(sent: SentAttempt): void {
    if (this.answered) return;
    this.answered = true;
    answer({ id: this.id, sent });
  }
  /** Nothing could be sent or logged: the thread's error goes back instead. */
  fail(err: unknown): void {
    if (this.answered) return;
    this.answered = true;
    answer({ id: this.id, error: err instanceof Error ? err.message : String(err) });
  }
}

const running = new Map<number, RunningAttempt>();
let outbox: ResultEntry[] = [];

function answer(r: ResultEntry): void {
  running.delete(r.id);
  if (outbox.length === 0) setImmediate(flush);
  outbox.push(r);
}

function flush(): void {
  const results = outbox;
  outbox = [];
  if (results.length > 0) post({ type: "results", results: encodeResults(results) });
}

port.on("message", (m: ToThread) => {
  switch (m.type) {
    case "send":
      for (const { id, job } of decodeJobs(m.jobs)) {
        const attempt = new RunningAttempt(id);
        running.set(id, attempt);
        try {
          startAttempt(sender, ring, job, attempt, tokens, attempt);
        } catch (err) {
          attempt.fail(err);
        }
      }
      break;
    case "abort":
      for (const id of m.ids) running.get(id)?.abort();
      break;
    case "lookup-answer": {
      const done = lookups.get(m.id);
      lookups.delete(m.id);
      done?.(m.error ? Object.assign(new Error(m.error.message), { code: m.error.code, syscall: m.error.syscall }) : null, m.addresses ?? []);
      break;
    }
    case "close":
      // Attempts in flight finish (each bounded by the timeout); then the thread's event loop empties and it exits.
      void sender.close().then(() => setImmediate(() => port.close()));
      break;
  }
});
