/**
 * The messages between the worker (main thread) and a sender thread. Jobs and results travel in
 * batches, one message per turn of either event loop, so the cost of a message is shared by every
 * attempt started or finished in that turn.
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
  | { type: "send"; jobs: { id: number; job: AttemptJob }[] }
  | { type: "abort"; ids: number[] }
  | { type: "lookup-answer"; id: number; addresses?: LookupAddress[]; error?: { message: string; code?: string; syscall?: string } }
  | { type: "close" };

export type FromThread =
  { type: "results"; results: { id: number; sent?: SentAttempt; error?: string }[] } | { type: "lookup"; id: number; hostname: string; family?: number };
