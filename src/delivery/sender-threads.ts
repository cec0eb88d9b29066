/**
 * The worker's side of the sender threads: hands attempts to a small pool of node:worker_threads
 * (sender-thread.ts) and answers each one's headers and result. Jobs started in one turn of the
 * event loop go to a thread in one message, and the thread answers in batches too, so the main
 * thread's share of an attempt is a few object copies instead of TLS, HTTP parsing and signing.
 *
 * A thread that dies (a crash, an out-of-memory kill, `terminate()`) fails its in-flight attempts
 * with SenderThreadLostError; the worker gives their leases back, so they are made again (attempts
 * are at-least-once), and a new thread takes its place.
 */
import { existsSync } from "node:fs";
import type { LookupAddress } from "node:dns";
import type { LookupFunction } from "node:net";
import { fileURLToPath } from "node:url";
import { Worker as NodeWorker } from "node:worker_threads";
import type { Logger } from "pino";
import type { KeyRing } from "../domain/secret-box.js";
import type { UrlPolicy } from "../domain/url-policy.js";
import type { AttemptJob, SentAttempt } from "./attempt-job.js";
import { decodeResults, encodeJobs, type FromThread, type JobEntry, type SenderThreadData, type ToThread } from "./sender-protocol.js";
import { MAX_SOCKETS_PER_PROCESS } from "./webhook-pools.js";

export interface SenderThreadsOptions {
  /** Threads in the pool (at least one). */
  threads: number;
  timeoutMs: number;
  urlPolicy: UrlPolicy;
  /** Sockets one webhook may hold in a thread (HOOKLINE_WEBHOOK_CONCURRENCY: it never has more attempts in flight). */
  connectionsPerWebhook: number;
  /** CAs trusted in addition to Node's roots (tests; production uses NODE_EXTRA_CA_CERTS). */
  ca?: string | Buffer | Array<string | Buffer>;
  /** DNS resolver, same shape as dns.lookup (tests); called on this thread for the sender threads. */
  lookup?: LookupFunction;
  keyRing: KeyRing | null;
  /** HOOKLINE_PROXY_URL: attempts and OAuth2 token requests go through this HTTP CONNECT proxy. */
  proxyUrl?: string;
  log: Logger;
}

/** The thread making an attempt died before answering; whether the request went out is unknown. */
export class SenderThreadLostError extends Error {
  readonly code = "ERR_HOOKLINE_SENDER_THREAD_LOST";
}

/** A thread that dies sooner than this after its start is restarted only after this long (no crash loop). */
const RESTART_DELAY_MS = 1000;

interface Pending {
  resolve(sent: SentAttempt): void;
  reject(err: Error): void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

interface Slot {
  index: number;
  thread: NodeWorker | null;
  startedAt: number;
  pending: Map<number, Pending>;
  /** Jobs and aborts waiting for this turn's message. */
  jobs: JobEntry[];
  aborts: number[];
  restartTimer?: NodeJS.Timeout;
}

/**
 * A sender thread's young generation, capped: its objects are short-lived (one attempt each), and V8's
 * default lets each thread hold tens of MB of them between scavenges. Draining a 100,000-delivery
 * backlog peaked at 308–313 MB RSS with the default and 294 MB with this cap, CPU per delivery unchanged
 * (docs/performance.md, "Sender threads").
 */
const SENDER_HEAP = { maxYoungGenerationSizeMb: 8 };

/** The compiled thread beside this module; from the TypeScript sources (the test runner), the one in dist/. */
function threadScript(): URL {
  const beside = new URL("./sender-thread.js", import.meta.url);
  return existsSync(fileURLToPath(beside)) ? beside : new URL("../../dist/delivery/sender-thread.js", import.meta.url);
}

export class SenderThreads {
  private readonly slots: Slot[] = [];
  private readonly data: Omit<SenderThreadData, "index">;
  private nextId = 0;
  private flushing = false;
  private closing: Promise<void> | undefined;

  constructor(private readonly opts: SenderThreadsOptions) {
    const ca = opts.ca === undefined ? [] : Array.isArray(opts.ca) ? opts.ca : [opts.ca];
    this.data = {
      timeoutMs: opts.timeoutMs,
      urlPolicy: opts.urlPolicy,
      connectionsPerWebhook: opts.connectionsPerWebhook,
      // The process's bound, shared by its threads (attempts go to the least busy one, so they fill evenly).
      maxSockets: Math.ceil(MAX_SOCKETS_PER_PROCESS / Math.max(1, opts.threads)),
      ca: ca.map((c) => (typeof c === "string" ? c : c.toString("utf8"))),
      keyRing: opts.keyRing && { currentId: opts.keyRing.currentId, keys: [...opts.keyRing.keys].map(([id, key]) => [id, key.toString("base64")]) },
      remoteLookup: opts.lookup !== undefined,
      proxyUrl: opts.proxyUrl,
    };
    for (let i = 0; i < Math.max(1, opts.threads); i++) {
      const slot: Slot = { index: i, thread: null, startedAt: 0, pending: new Map(), jobs: [], aborts: [] };
      this.slots.push(slot);
      this.spawn(slot);
    }
  }

  /** The running threads (tests crash one to show nothing is lost). */
  get threads(): NodeWorker[] {
    return this.slots.flatMap((s) => (s.thread ? [s.thread] : []));
  }

  /** The thread a webhook's attempts go to now (null while every thread restarts). */
  threadFor(webhookId: string): NodeWorker | null {
    return this.slotFor(webhookId).thread;
  }

  /**
   * Signs and sends one attempt on its webhook's thread. Rejects with an AbortError when `signal`
   * aborts first (the thread is told to abort it), with SenderThreadLostError when the thread dies
   * or the pool is closed, and with the thread's message when the headers cannot be built.
   */
  send(job: AttemptJob, signal?: AbortSignal): Promise<SentAttempt> {
    if (this.closing) return Promise.reject(new SenderThreadLostError("Sender threads are shut down"));
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    const slot = this.slotFor(job.webhookId);
    const id = this.nextId++;
    return new Promise<SentAttempt>((resolve, reject) => {
      const p: Pending = { resolve, reject, signal };
      if (signal) {
        p.onAbort = () => {
          if (!slot.pending.delete(id)) return;
          slot.aborts.push(id);
          this.schedule();
          reject(signal.reason as Error);
        };
        signal.addEventListener("abort", p.onAbort, { once: true });
      }
      slot.pending.set(id, p);
      slot.jobs.push({ id, job });
      this.schedule();
    });
  }

  /**
   * A webhook's attempts all go to one thread, so what a thread keeps per webhook (its connection
   * pool, its OAuth2 token) is the process's one copy: one token request per token lifetime, not
   * one per thread. A webhook has at most HOOKLINE_WEBHOOK_CONCURRENCY attempts in flight, so no
   * webhook can load a thread much more than others. While its thread restarts, the least busy
   * other thread takes its attempts.
   */
  private slotFor(webhookId: string): Slot {
    let hash = 0x811c9dc5; // FNV-1a
    for (let i = 0; i < webhookId.length; i++) hash = Math.imul(hash ^ webhookId.charCodeAt(i), 0x01000193);
    const own = this.slots[(hash >>> 0) % this.slots.length];
    if (own.thread) return own;
    let best: Slot | undefined;
    for (const s of this.slots) if (s.thread && (!best || s.pending.size < best.pending.size)) best = s;
    return best ?? own; // every thread restarting: wait for its own
  }

  /** Lets in-flight attempts finish (each bounded by the timeout), then stops every thread. */
  close(): Promise<void> {
    this.closing ??= Promise.all(this.slots.map((s) => this.stop(s))).then(() => undefined);
    return this.closing;
  }

  private async stop(slot: Slot): Promise<void> {
    clearTimeout(slot.restartTimer);
    const thread = slot.thread;
    if (!thread) return;
    const exited = new Promise<void>((resolve) => thread.once("exit", () => resolve()));
    this.flush();
    thread.postMessage({ type: "close" } satisfies ToThread);
    const backstop = setTimeout(() => void thread.terminate(), this.opts.timeoutMs + 1000);
    await exited;
    clearTimeout(backstop);
  }

  /** One message per thread per turn of the event loop, carrying every job and abort of that turn. */
  private schedule(): void {
    if (this.flushing) return;
    this.flushing = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushing = false;
    for (const slot of this.slots) {
      if (!slot.thread) continue; // restarting: posted once the new thread is up
      if (slot.jobs.length > 0) {
        slot.thread.postMessage({ type: "send", jobs: encodeJobs(slot.jobs) } satisfies ToThread);
        slot.jobs = [];
      }
      if (slot.aborts.length > 0) {
        slot.thread.postMessage({ type: "abort", ids: slot.aborts } satisfies ToThread);
        slot.aborts = [];
      }
    }
  }

  private spawn(slot: Slot): void {
    const thread = new NodeWorker(threadScript(), {
      workerData: { ...this.data, index: slot.index } satisfies SenderThreadData,
      name: `hookline-sender-${slot.index}`,
      resourceLimits: SENDER_HEAP,
    });
    slot.thread = thread;
    slot.startedAt = Date.now();
    thread.on("message", (m: FromThread) => this.onMessage(slot, thread, m));
    thread.on("error", (err) => this.opts.log.error({ err: { message: err.message, stack: err.stack } }, "sender thread failed"));
    thread.on("exit", (code) => this.onExit(slot, thread, code));
    if (slot.jobs.length > 0 || slot.aborts.length > 0) this.schedule();
  }

  private onMessage(slot: Slot, thread: NodeWorker, m: FromThread): void {
    if (m.type === "results") {
      for (const r of decodeResults(m.results)) {
        const p = slot.pending.get(r.id);
        if (!p) continue; // aborted meanwhile
        slot.pending.delete(r.id);
        if (p.onAbort) p.signal?.removeEventListener("abort", p.onAbort);
        if (r.sent) p.resolve(r.sent);
        else p.reject(new Error(r.error ?? "the sender thread gave no result"));
      }
    } else if (m.type === "lookup") {
      const answer = (msg: ToThread) => slot.thread === thread && thread.postMessage(msg);
      const family = m.family === 4 || m.family === 6 ? m.family : undefined;
      this.opts.lookup!(m.hostname, { all: true, family }, (err: NodeJS.ErrnoException | null, addresses: string | LookupAddress[]) => {
        if (err) answer({ type: "lookup-answer", id: m.id, error: { message: err.message, code: err.code, syscall: err.syscall } });
        else answer({ type: "lookup-answer", id: m.id, addresses: typeof addresses === "string" ? [{ address: addresses, family: family ?? 4 }] : addresses });
      });
    }
  }

  private onExit(slot: Slot, thread: NodeWorker, code: number): void {
    if (slot.thread !== thread) return;
    slot.thread = null;
    const lost = [...slot.pending.values()];
    slot.pending.clear();
    slot.jobs = [];
    slot.aborts = [];
    for (const p of lost) {
      if (p.onAbort) p.signal?.removeEventListener("abort", p.onAbort);
      p.reject(new SenderThreadLostError(`The sender thread exited (code ${code}) during the attempt`));
    }
    if (this.closing) return;
    const soon = Date.now() - slot.startedAt < RESTART_DELAY_MS;
    this.opts.log.error(
      { thread: slot.index, exit_code: code, in_flight: lost.length },
      "sender thread exited; its attempts in flight are given back and made again, and the thread is restarted",
    );
    if (soon) slot.restartTimer = setTimeout(() => this.spawn(slot), RESTART_DELAY_MS);
    else this.spawn(slot);
  }
}
