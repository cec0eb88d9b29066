/**
 * The HTTP side of one delivery attempt: POST the fixed body, never follow redirects, capture a
 * bounded response, and turn every failure into a result with a message a webhook owner can act on.
 *
 * Connections are the webhook's own (webhook-pools.ts): one keep-alive pool per webhook, so an
 * attempt never waits for a connection another webhook holds, even on a shared host; TLS sessions
 * are still resumed across the webhooks of one origin, and the sockets open at once are bounded.
 * The time an attempt waits for one of its webhook's own connections counts within its timeout.
 *
 * Receiver options: a webhook's client certificate is presented on its own connections, and with
 * HOOKLINE_PROXY_URL every connection is tunnelled through the proxy (connect.ts, used by the pools).
 *
 * SSRF guard: host names are resolved by `guardedLookup`, which undici hands to net/tls.connect, so
 * the socket connects to exactly the addresses that were checked (no DNS-rebinding window). Literal
 * IPs never reach `lookup`, so they are checked in `send` before anything is dialled.
 */
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { isIP, type LookupFunction } from "node:net";
import { createSecureContext, rootCertificates } from "node:tls";
import type { Dispatcher } from "undici";
import { checkAddress, type UrlPolicy } from "../domain/url-policy.js";
import { ProxyError } from "./connect.js";
import { MAX_SOCKETS_PER_PROCESS, POOL_IDLE_MS, WebhookPools, type PoolLease } from "./webhook-pools.js";

export interface AttemptRequest {
  /** The webhook the attempt is for: it uses that webhook's connections only. */
  webhookId: string;
  url: string;
  headers: Record<string, string>;
  /** The exact body fixed at publish time; sent as UTF-8. */
  body: string;
}

export interface CapturedResponse {
  status: number;
  /** Lowercase names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** At most `maxResponseBytes` bytes of the body, decoded as UTF-8. */
  body: string;
  truncated: boolean;
}

export interface AttemptResult {
  success: boolean;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
  response: CapturedResponse | null;
  /** The attempt ran out of time (connect, TLS, headers or the body read we do). */
  timedOut: boolean;
}

export interface SenderOptions {
  /** Budget for the whole attempt: connect, TLS, response headers and the body read we do. */
  timeoutMs: number;
  urlPolicy: UrlPolicy;
  /** Response body bytes kept; the rest is not read. Default 65536. */
  maxResponseBytes?: number;
  /** Sockets one webhook may hold (its keep-alive pool's size): the per-webhook cap. Default 16. */
  connectionsPerWebhook?: number;
  /** Open sockets past which the pools of webhooks with no attempt in flight are closed. Default 1024. */
  maxSockets?: number;
  /** A webhook's pool unused this long is closed with its sockets. Default 60 s. */
  poolIdleMs?: number;
  /** CAs trusted in addition to Node's roots (tests; production uses NODE_EXTRA_CA_CERTS). */
  ca?: string | Buffer | Array<string | Buffer>;
  /** DNS resolver, same shape as dns.lookup (tests). Default dns.lookup. */
  lookup?: LookupFunction;
  /** HOOKLINE_PROXY_URL: every connection goes through this HTTP CONNECT proxy. */
  proxyUrl?: string;
}

/**
 * What `send` needs of an abort signal. An AbortSignal fits; a sender thread passes a lighter object
 * of its own (one listener, no EventTarget) for each attempt, since attempts are aborted only at shutdown.
 */
export interface AbortLike {
  readonly aborted: boolean;
  addEventListener(type: "abort", listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: "abort", listener: () => void): void;
}

/** What one request may add to the sender's defaults. */
export interface SendOptions {
  /** What is left of the attempt's budget (an OAuth2 token request may have used some). Default: the whole timeout. */
  timeoutMs?: number;
  /** The webhook's TLS client certificate (PEM, key opened), presented on its own connections. */
  clientCertificate?: { cert: string; key: string };
}

export const MAX_RESPONSE_HEADER_BYTES = 16 * 1024;

class BlockedAddressError extends Error {
  readonly code = "ERR_HOOKLINE_BLOCKED_ADDRESS";
}

/** The policy's reason repeats the address ("10.0.0.5 is in …"); say it once. */
function blockedMessage(ip: string, reason: string): string {
  return `Blocked address ${ip}: ${reason.replace(/^\S+ is (?=in |a )/, "")}`;
}

/** Resolves every address, refuses the lot if any one is not allowed, then answers in the shape asked. */
function guardedLookup(resolve: LookupFunction, policy: UrlPolicy): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, { ...options, all: true }, (err, result) => {
      if (err) return callback(err, "");
      const all: LookupAddress[] = typeof result === "string" ? [{ address: result, family: isIP(result) }] : result;
      if (all.length === 0) {
        return callback(Object.assign(new Error(`no address for ${hostname}`), { code: "ENOTFOUND", syscall: "getaddrinfo" }), "");
      }
      for (const { address } of all) {
        const verdict = checkAddress(address, policy);
        if (!verdict.allowed) return callback(new BlockedAddressError(blockedMessage(address, verdict.reason)), "");
      }
      if (options.all) callback(null, all);
      else callback(null, all[0].address, all[0].family);
    });
  };
}

export class Sender {
  private readonly pools: WebhookPools;
  readonly timeoutMs: number;
  private readonly policy: UrlPolicy;
  /** Response body bytes kept; the rest is not read. */
  readonly maxResponseBytes: number;
  private readonly targets = new Map<string, Target | string>();
  private closing: Promise<void> | undefined;

  constructor(opts: SenderOptions) {
    this.timeoutMs = opts.timeoutMs;
    this.policy = opts.urlPolicy;
    this.maxResponseBytes = opts.maxResponseBytes ?? 65536;
    const extraCas = opts.ca === undefined ? [] : Array.isArray(opts.ca) ? opts.ca : [opts.ca];
    this.pools = new WebhookPools({
      timeoutMs: opts.timeoutMs,
      lookup: guardedLookup(opts.lookup ?? (dnsLookup as LookupFunction), opts.urlPolicy),
      // One context for every connection: given as `ca`, Node would parse the ~150 root
      // certificates again for each new socket (about 50 ms of blocked event loop apiece).
      secureContext: extraCas.length > 0 ? createSecureContext({ ca: [...rootCertificates, ...extraCas] }) : undefined,
      maxHeaderSize: MAX_RESPONSE_HEADER_BYTES,
      connectionsPerWebhook: opts.connectionsPerWebhook ?? 16,
      maxSockets: opts.maxSockets ?? MAX_SOCKETS_PER_PROCESS,
      idleMs: opts.poolIdleMs ?? POOL_IDLE_MS,
      proxyUrl: opts.proxyUrl,
      extraCas,
    });
  }

  /** Webhook pools and sockets open now (tests). */
  get connections(): { pools: number; sockets: number } {
    return { pools: this.pools.size, sockets: this.pools.sockets };
  }

  /**
   * Makes one attempt. Never throws: every failure is described in the result.
   *
   * The request goes to undici's `dispatch` with a handler of our own (AttemptHandler) that captures
   * the response as it arrives: no AbortController, response stream or promise race per attempt.
   * A sender thread's profile showed those at about a fifth of its CPU per attempt
   * (docs/performance.md, "Sender thread CPU").
   */
  send(req: AttemptRequest, signal?: AbortLike, opts: SendOptions = {}): Promise<AttemptResult> {
    return new Promise((resolve) => this.start(req, signal, opts, resolve));
  }

  /**
   * `send` with a callback instead of a promise: a sender thread's attempts without OAuth2 take this
   * path (no promise, no async function per attempt). `done` is called exactly once, perhaps synchronously.
   */
  start(req: AttemptRequest, signal: AbortLike | undefined, opts: SendOptions, done: (r: AttemptResult) => void): void {
    const started = performance.now();
    const target = this.target(req.url);
    if (typeof target === "string") return done(result(started, false, { success: false, statusCode: null, error: target, response: null }));
    const stop = this.closing ? "Sender is shut down" : signal?.aborted ? "Attempt aborted (shutting down)" : null;
    if (stop) return done(result(started, false, { success: false, statusCode: null, error: stop, response: null }));
    const handler = new AttemptHandler(this, target.url, started, opts, signal, done);
    let lease: PoolLease;
    try {
      lease = this.pools.acquire(req.webhookId, target.origin, opts.clientCertificate);
    } catch (err) {
      handler.finish(`Could not set up the connection: ${(err as Error).message}`);
      return;
    }
    handler.lease = lease;
    // Arms the attempt-wide timer and the caller's abort; a synchronous dispatch error ends in onError.
    handler.begin(Math.max(0, opts.timeoutMs ?? this.timeoutMs));
    if (handler.done) return;
    lease.pool.dispatch({ origin: target.origin, path: target.path, method: "POST", headers: req.headers, body: Buffer.from(req.body, "utf8") }, handler);
  }

  /**
   * A webhook's URL parsed and checked once: attempts to the same URL reuse what was found (the URL
   * policy is fixed for the sender's life), or the refusal to send there. The URL's `origin` and path
   * are strings computed by getters on each read, so they are kept too.
   */
  private target(raw: string): Target | string {
    let target = this.targets.get(raw);
    if (target === undefined) {
      let url: URL;
      try {
        url = new URL(raw);
      } catch {
        return `Invalid URL: ${raw}`;
      }
      target = this.refuseTarget(url) ?? { url, origin: url.origin, path: url.pathname + url.search };
      if (this.targets.size >= URL_CACHE_SIZE) this.targets.clear();
      this.targets.set(raw, target);
    }
    return target;
  }

  /** Waits for in-flight attempts (each bounded by the timeout), then closes every pooled socket. */
  close(): Promise<void> {
    this.closing ??= this.pools.close();
    return this.closing;
  }

  private refuseTarget(url: URL): string | null {
    if (url.protocol !== "https:" && !(url.protocol === "http:" && this.policy.allowHttp)) {
      return `Refused URL scheme ${url.protocol} (only https is allowed)`;
    }
    const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
    if (isIP(host) === 0) return null; // checked after resolution by guardedLookup
    const verdict = checkAddress(host, this.policy);
    return verdict.allowed ? null : blockedMessage(host, verdict.reason);
  }
}

/** Where an attempt to a URL goes: the parsed URL (not changed after), its origin and its path with the query. */
interface Target {
  url: URL;
  origin: string;
  path: string;
}

/** Parsed URLs a sender keeps (one per webhook URL in use); past this many the cache starts over. */
const URL_CACHE_SIZE = 10_000;

function result(started: number, timedOut: boolean, r: Omit<AttemptResult, "durationMs" | "timedOut">): AttemptResult {
  return { success: r.success, statusCode: r.statusCode, error: r.error, durationMs: Math.round(performance.now() - started), response: r.response, timedOut };
}

/** Raw response headers (name, value, …) as the log shows them: lowercase names, repeated headers joined with ", ". */
function flattenRawHeaders(raw: Buffer[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i].toString("latin1").toLowerCase();
    let value = raw[i + 1].toString("latin1");
    // Own keys only: a header named `constructor` or `__proto__` must not meet Object's.
    if (Object.hasOwn(out, name)) value = `${out[name]}, ${value}`;
    if (name === "__proto__") Object.defineProperty(out, name, { value, enumerable: true, configurable: true, writable: true });
    else out[name] = value;
  }
  return out;
}

/**
 * One attempt's undici handler (the dispatch interface: onConnect, onHeaders, onData, onComplete,
 * onError). It keeps at most `maxResponseBytes` of the body, ends the attempt at the timeout or the
 * caller's abort, and answers exactly once; whatever undici reports after that is ignored.
 */
class AttemptHandler implements Dispatcher.DispatchHandler {
  done = false;
  lease: PoolLease | undefined;
  private abortRequest: ((err: Error) => void) | undefined;
  private abortedWith: Error | undefined;
  private timer: NodeJS.Timeout | undefined;
  private timedOut = false;
  private statusCode = 0;
  private headers: Record<string, string> | undefined;
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private truncated = false;
  private onAbort: (() => void) | undefined;

  constructor(
    private readonly sender: Sender,
    private readonly url: URL,
    private readonly started: number,
    private readonly opts: SendOptions,
    private readonly signal: AbortLike | undefined,
    private readonly resolve: (r: AttemptResult) => void,
  ) {}

  begin(timeoutMs: number): void {
    this.timer = setTimeout(timeUp, timeoutMs, this);
    if (this.signal) {
      this.onAbort = () => this.stop(false);
      this.signal.addEventListener("abort", this.onAbort, { once: true });
    }
  }

  onConnect(abort: (err?: Error) => void): void {
    // An attempt already over (timed out while connecting): undici sends nothing on this socket.
    if (this.abortedWith) abort(this.abortedWith);
    else this.abortRequest = abort;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[]): boolean {
    if (this.done) return false;
    if (statusCode < 200) return true; // informational (1xx): the real answer follows
    this.statusCode = statusCode;
    this.headers = flattenRawHeaders(rawHeaders);
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.done) return false;
    const room = this.sender.maxResponseBytes - this.size;
    if (chunk.length > room) {
      // Enough kept: nothing more is read or buffered, the connection is closed.
      this.chunks.push(chunk.subarray(0, room));
      this.size += room;
      this.truncated = true;
      this.end();
      this.abortRequest?.(new Error("response body truncated"));
      return false;
    }
    this.chunks.push(chunk);
    this.size += chunk.length;
    return true;
  }

  onComplete(): void {
    if (!this.done) this.end();
  }

  onError(err: Error): void {
    if (this.done) return;
    if (this.headers) {
      this.truncated = true;
      this.finish(`${this.why(err)} while reading the response body`);
    } else this.finish(this.why(err));
  }

  /** The attempt's time is up (`timedOut`) or the caller aborted: answer now, then tell undici. */
  stop(timedOut: boolean): void {
    if (this.done) return;
    if (timedOut) this.timedOut = true;
    // undici acts on an abort only once the connection is up, so a receiver that never finishes the
    // TLS handshake would hold the attempt (and its worker slot) until undici's own connect timer:
    // the attempt ends here, and onConnect aborts that request if it ever gets a socket.
    const reason = new Error(timedOut ? "attempt timed out" : "attempt aborted");
    this.abortedWith = reason;
    const why = timedOut ? `Timed out after ${this.sender.timeoutMs} ms` : "Attempt aborted (shutting down)";
    if (this.headers) {
      this.truncated = true;
      this.finish(`${why} while reading the response body`);
    } else this.finish(why);
    this.abortRequest?.(reason);
  }

  private why(err: unknown): string {
    if (this.timedOut) return `Timed out after ${this.sender.timeoutMs} ms`;
    if (this.signal?.aborted) return "Attempt aborted (shutting down)";
    // undici's own timers (backstops) and the system's connect timeout are timeouts too.
    const code = errorCode(err);
    if (UNDICI_TIMEOUT_CODES.has(code) || code === "ETIMEDOUT") this.timedOut = true;
    return describeError(err, this.url, this.sender.timeoutMs, this.opts.clientCertificate !== undefined);
  }

  private captured(): CapturedResponse {
    const body = this.chunks.length === 0 ? "" : this.chunks.length === 1 ? this.chunks[0].toString("utf8") : Buffer.concat(this.chunks).toString("utf8");
    return { status: this.statusCode, headers: this.headers ?? {}, body, truncated: this.truncated };
  }

  /** The response is complete (or kept up to its bound). */
  private end(): void {
    const statusCode = this.statusCode;
    this.settle({ success: statusCode >= 200 && statusCode < 300, statusCode, error: null, response: this.captured() });
  }

  /** Fails the attempt with `error`, with the response so far when its headers had come. */
  finish(error: string): void {
    this.settle({ success: false, statusCode: this.headers ? this.statusCode : null, error, response: this.headers ? this.captured() : null });
  }

  private settle(r: Omit<AttemptResult, "durationMs" | "timedOut">): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.timer);
    if (this.onAbort) this.signal?.removeEventListener("abort", this.onAbort);
    this.lease?.release();
    this.resolve(result(this.started, this.timedOut, r));
  }
}

/** An attempt's timer (one function for all: no closure per attempt). */
function timeUp(handler: AttemptHandler): void {
  handler.stop(true);
}

const UNDICI_TIMEOUT_CODES = new Set(["UND_ERR_CONNECT_TIMEOUT", "UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT"]);
const DNS_CODES = new Set(["ENOTFOUND", "EAI_AGAIN", "EAI_FAIL", "EAI_NONAME", "ENODATA", "ESERVFAIL", "ENOTIMP"]);
const TLS_CODE = /CERT|SSL|TLS|SIGNED|SIGNATURE|ISSUER|CRL|CHAIN|LEAF|HOSTNAME_MISMATCH/;

/** Happy-eyeballs connects fail with an AggregateError of one error per address tried: the first one speaks. */
function firstError(err: unknown): unknown {
  return err instanceof AggregateError && err.errors.length > 0 ? err.errors[0] : err;
}

function errorCode(err: unknown): string {
  return (firstError(err) as { code?: string } | null)?.code ?? "";
}

/** Maps a connect/request error to the sentence shown in the delivery log. */
export function describeError(err: unknown, url: URL, timeoutMs: number, withClientCertificate = false): string {
  if (err instanceof BlockedAddressError || err instanceof ProxyError) return err.message;
  const first = firstError(err);
  const e = (first ?? {}) as NodeJS.ErrnoException & { address?: string; port?: number; reason?: string };
  const code = e.code ?? "";
  if (UNDICI_TIMEOUT_CODES.has(code)) return `Timed out after ${timeoutMs} ms`;
  const host = url.hostname;
  const peer = e.address ? `${e.address.includes(":") ? `[${e.address}]` : e.address}:${e.port}` : url.host;
  if (e.syscall === "getaddrinfo" || e.syscall === "queryA" || DNS_CODES.has(code)) {
    return `DNS lookup failed for ${host} (${code || "unknown error"})`;
  }
  switch (code) {
    case "ECONNREFUSED":
      return `Connection refused by ${peer}`;
    case "ECONNRESET":
      return "Connection reset by peer";
    case "EPIPE":
    case "UND_ERR_SOCKET":
      // A TLS 1.3 receiver checks the client certificate after the handshake and may just close the
      // connection (Node does, with no alert): nothing read back is the sign.
      if (withClientCertificate && (e as { socket?: { bytesRead?: number } }).socket?.bytesRead === 0) {
        return "TLS error: the receiver closed the connection after the TLS handshake without answering; it did not accept the client certificate";
      }
      return "Connection closed by peer before the response was complete";
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return `Host unreachable: ${peer} (${code})`;
    case "ETIMEDOUT":
      return `Connection to ${peer} timed out (ETIMEDOUT)`;
    case "UND_ERR_HEADERS_OVERFLOW":
      return `Response headers exceed ${MAX_RESPONSE_HEADER_BYTES} bytes`;
    case "UND_ERR_CLOSED":
    case "UND_ERR_DESTROYED":
      return "Sender is shut down";
  }
  const message = e.message || String(err);
  if (TLS_CODE.test(code)) return `TLS error: ${message} (${code})`;
  // llhttp's errors carry an HPE_ code, except some (e.g. a status line that is not HTTP) that only have the name.
  if (code.startsWith("HPE_") || e.name === "HTTPParserError") return `Invalid HTTP response: ${message}${code ? ` (${code})` : ""}`;
  return code ? `${message} (${code})` : message;
}
