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
import { checkAddress, type UrlPolicy } from "../domain/url-policy.js";
import { ProxyError } from "./connect.js";
import { MAX_SOCKETS_PER_PROCESS, POOL_IDLE_MS, WebhookPools } from "./webhook-pools.js";

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
  private readonly maxResponseBytes: number;
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

  /** Makes one attempt. Never throws: every failure is described in the result. */
  async send(req: AttemptRequest, signal?: AbortSignal, opts: SendOptions = {}): Promise<AttemptResult> {
    const started = performance.now();
    let timedOut = false;
    const finish = (r: Omit<AttemptResult, "durationMs" | "timedOut">): AttemptResult => ({
      ...r,
      durationMs: Math.round(performance.now() - started),
      timedOut,
    });
    const fail = (error: string, statusCode: number | null = null, response: CapturedResponse | null = null) =>
      finish({ success: false, statusCode, error, response });

    let url: URL;
    try {
      url = new URL(req.url);
    } catch {
      return fail(`Invalid URL: ${req.url}`);
    }
    const refusal = this.refuseTarget(url);
    if (refusal) return fail(refusal);
    if (this.closing) return fail("Sender is shut down");
    if (signal?.aborted) return fail("Attempt aborted (shutting down)");

    const controller = new AbortController();
    const timer = setTimeout(
      () => {
        timedOut = true;
        controller.abort();
      },
      Math.max(0, opts.timeoutMs ?? this.timeoutMs),
    );
    const onAbort = (): void => controller.abort();
    signal?.addEventListener("abort", onAbort, { once: true });
    const why = (err: unknown): string => {
      if (timedOut) return `Timed out after ${this.timeoutMs} ms`;
      if (signal?.aborted) return "Attempt aborted (shutting down)";
      // undici's own timers (backstops) and the system's connect timeout are timeouts too.
      const code = errorCode(err);
      if (UNDICI_TIMEOUT_CODES.has(code) || code === "ETIMEDOUT") timedOut = true;
      return describeError(err, url, this.timeoutMs, opts.clientCertificate !== undefined);
    };

    let lease;
    try {
      lease = this.pools.acquire({ webhookId: req.webhookId, origin: url.origin, clientCertificate: opts.clientCertificate });
    } catch (err) {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      return fail(`Could not set up the connection: ${(err as Error).message}`);
    }
    try {
      let res;
      try {
        const request = lease.dispatcher.request({
          origin: url.origin,
          path: url.pathname + url.search,
          method: "POST",
          headers: req.headers,
          body: Buffer.from(req.body, "utf8"),
          signal: controller.signal,
        });
        // undici acts on an abort only once the connection is up, so a receiver that never finishes
        // the TLS handshake would hold the attempt (and its worker slot) until undici's own connect
        // timer, up to half a second later. Give up at the abort; undici still closes that socket at
        // its connect timeout, and a response arriving after the abort is thrown away.
        request.then(
          (late) => controller.signal.aborted && late.body.destroy(),
          () => {},
        );
        res = await Promise.race([request, rejectOnAbort(controller.signal)]);
      } catch (err) {
        return fail(why(err));
      }
      const { statusCode, body } = res;
      body.on("error", () => {}); // destroying the body early emits an abort error we expect
      const chunks: Buffer[] = [];
      let size = 0;
      let truncated = false;
      const captured = (): CapturedResponse => ({
        status: statusCode,
        headers: flattenHeaders(res.headers),
        body: Buffer.concat(chunks).toString("utf8"),
        truncated,
      });
      try {
        for await (const chunk of body as AsyncIterable<Buffer>) {
          const room = this.maxResponseBytes - size;
          if (chunk.length > room) {
            chunks.push(chunk.subarray(0, room));
            size += room;
            truncated = true;
            break; // leaving the loop destroys the stream: nothing more is read or buffered
          }
          chunks.push(chunk);
          size += chunk.length;
        }
      } catch (err) {
        truncated = true;
        return fail(`${why(err)} while reading the response body`, statusCode, captured());
      } finally {
        body.destroy();
      }
      const success = statusCode >= 200 && statusCode < 300;
      return finish({ success, statusCode, error: null, response: captured() });
    } catch (err) {
      return fail(why(err)); // defensive: send() must never throw
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      lease.release();
    }
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

function rejectOnAbort(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) return reject(signal.reason);
    signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
}

function flattenHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : value;
  }
  return out;
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
