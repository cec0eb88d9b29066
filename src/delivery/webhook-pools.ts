/**
 * Connections are held per webhook: each webhook gets its own undici Pool for its origin, so a
 * webhook's attempt never waits for a connection that another webhook's attempts hold, even when
 * many webhooks share one host (Zapier, Slack, an API gateway, one CI server with a path per job).
 * One shared pool per origin let a hanging webhook fill it, and the other webhooks' attempts queued
 * inside undici, where the claim's fairness could not see them (docs/scaling.md, "Connections").
 *
 * What is still shared, and why it is safe:
 * - TLS sessions: the pools of one origin open their sockets through one connector, whose session
 *   cache lets a webhook's first connection resume a session another webhook's connection made.
 * - The socket bound: past `maxSockets` open sockets, the pools of webhooks with no attempt in flight
 *   are closed, least recently used first. Sockets for attempts in flight are always opened (their
 *   number is bounded by the worker's slots), so an attempt never waits for this bound either.
 * Pools unused for `idleMs` are closed with their sockets, so thousands of webhooks leave no pools behind.
 */
import { createHash } from "node:crypto";
import type { LookupFunction } from "node:net";
import { createSecureContext, rootCertificates, type SecureContext } from "node:tls";
import { buildConnector, Pool } from "undici";
import { proxyConnector } from "./connect.js";

/** Whose connections an attempt uses: the webhook, and the origin its URL names now. */
export interface PoolTarget {
  webhookId: string;
  /** `https://host[:port]` of the attempt's URL. */
  origin: string;
  /** The webhook's TLS client certificate and its (opened) key, presented on its sockets (mTLS). */
  clientCertificate?: { cert: string; key: string };
}

export interface WebhookPoolsOptions {
  /** The attempt's budget; undici's connect, header and body timers are backstops at the same value. */
  timeoutMs: number;
  /** The SSRF-guarded resolver every socket connects through. */
  lookup: LookupFunction;
  /** Trusted CAs as one parsed context (tests: Node's roots plus theirs); default Node's roots. */
  secureContext?: SecureContext;
  maxHeaderSize: number;
  /** Sockets one webhook may hold (its pool's size): the per-webhook cap of attempts in flight. */
  connectionsPerWebhook: number;
  /** Open sockets past which idle webhooks' pools are closed. */
  maxSockets: number;
  /** A pool with no attempt for this long is closed with its sockets. */
  idleMs: number;
  /** CAs trusted besides Node's roots (tests): a client certificate's context needs them too. */
  extraCas?: Array<string | Buffer>;
  /** HOOKLINE_PROXY_URL: every socket is tunnelled through this HTTP CONNECT proxy (connect.ts). */
  proxyUrl?: string;
}

/** Sockets a worker process keeps open at most beyond those its attempts in flight use; sender threads share it. */
export const MAX_SOCKETS_PER_PROCESS = 1024;
/** How long a webhook's pool outlives its last attempt. */
export const POOL_IDLE_MS = 60_000;

interface Entry {
  pool: Pool;
  key: string;
  connectorKey: string;
  inFlight: number;
  sockets: number;
  lastUsed: number;
}

/**
 * A webhook's dispatcher for one attempt; `release` it once when the attempt is over. One small
 * object per attempt, with no closure (docs/performance.md, "Sender thread to its floor").
 */
export class PoolLease {
  private released = false;
  constructor(
    private readonly pools: WebhookPools,
    private readonly entry: Entry,
  ) {}

  get pool(): Pool {
    return this.entry.pool;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.pools.release(this.entry);
  }
}

/**
 * Everything a webhook's sockets are opened with, in one place: the guarded lookup, the trusted CAs,
 * the connect timeout, the webhook's client certificate, the proxy. Sockets with different options
 * must not share a connector (nor its TLS sessions): `connectorKey` tells them apart.
 */
function makeConnector(opts: WebhookPoolsOptions, target: PoolTarget): buildConnector.connector {
  const cert = target.clientCertificate;
  const ca = opts.extraCas && opts.extraCas.length > 0 ? [...rootCertificates, ...opts.extraCas] : undefined;
  // A client certificate needs a context of its own; it parses the roots again only when extra CAs are given.
  const secureContext = cert ? createSecureContext({ ca, cert: cert.cert, key: cert.key }) : opts.secureContext;
  if (opts.proxyUrl) return proxyConnector(opts.proxyUrl, { timeoutMs: opts.timeoutMs, lookup: opts.lookup, secureContext });
  return buildConnector({ timeout: opts.timeoutMs, lookup: opts.lookup, ...(secureContext ? { secureContext } : {}) });
}

/** Tells client certificates apart without keeping their keys in map keys. */
function certificateDigest(target: PoolTarget): string {
  const cert = target.clientCertificate;
  return cert ? createHash("sha256").update(cert.cert).update("\0").update(cert.key).digest("hex") : "";
}

/** One pool per webhook, origin and client certificate (a changed URL or certificate gets a new pool; the old one idles out). */
function poolKey(target: PoolTarget): string {
  return `${target.webhookId} ${target.origin} ${certificateDigest(target)}`;
}

/** Pools whose sockets may resume each other's TLS sessions share a connector: same origin, same connect options. */
function connectorKey(target: PoolTarget): string {
  return `${target.origin} ${certificateDigest(target)}`;
}

export class WebhookPools {
  /** Least recently acquired first. */
  private readonly entries = new Map<string, Entry>();
  private readonly connectors = new Map<string, { connect: buildConnector.connector; pools: number }>();
  private openSockets = 0;
  private readonly sweeper: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly opts: WebhookPoolsOptions) {
    this.sweeper = setInterval(() => this.closeIdle(), Math.max(10, opts.idleMs / 2));
    this.sweeper.unref();
  }

  /** Pools open now (tests, metrics). */
  get size(): number {
    return this.entries.size;
  }

  /** Sockets open now, across every pool. */
  get sockets(): number {
    return this.openSockets;
  }

  acquire(webhookId: string, origin: string, clientCertificate?: PoolTarget["clientCertificate"]): PoolLease {
    if (this.closed) throw new Error("the webhook pools are closed");
    const target: PoolTarget = { webhookId, origin, clientCertificate };
    const key = poolKey(target);
    let entry = this.entries.get(key);
    if (entry)
      this.entries.delete(key); // re-inserted last: most recently used
    else entry = this.createEntry(target, key);
    this.entries.set(key, entry);
    entry.inFlight++;
    return new PoolLease(this, entry);
  }

  /** An attempt on `entry`'s pool is over (PoolLease.release, once per lease). */
  release(entry: Entry): void {
    entry.inFlight--;
    // Only a pool with nothing in flight is closed when idle: the time counts from its last attempt's end.
    entry.lastUsed = Date.now();
    this.dropIfUnused(entry.key, entry);
  }

  /** Waits for attempts in flight (each bounded by the timeout), then closes every pool and socket. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweeper);
    const pools = [...this.entries.values()].map((e) => e.pool);
    this.entries.clear();
    this.connectors.clear();
    await Promise.all(pools.map((p) => p.close().catch(() => p.destroy().catch(() => {}))));
  }

  /** The one function that makes a webhook's dispatcher. */
  private createEntry(target: PoolTarget, key: string): Entry {
    const ck = connectorKey(target);
    let connector = this.connectors.get(ck);
    if (!connector) {
      connector = { connect: makeConnector(this.opts, target), pools: 0 };
      this.connectors.set(ck, connector);
    }
    connector.pools++;
    const pool = new Pool(target.origin, {
      connections: this.opts.connectionsPerWebhook,
      maxHeaderSize: this.opts.maxHeaderSize,
      // Backstops only: the attempt-wide timer in Sender.send normally fires first.
      headersTimeout: this.opts.timeoutMs,
      bodyTimeout: this.opts.timeoutMs,
      connect: connector.connect,
    });
    const entry: Entry = { pool, key, connectorKey: ck, inFlight: 0, sockets: 0, lastUsed: Date.now() };
    pool.on("connect", () => {
      entry.sockets++;
      this.openSockets++;
      if (this.openSockets > this.opts.maxSockets) this.evictIdle();
    });
    pool.on("disconnect", () => {
      entry.sockets--;
      this.openSockets--;
      this.dropIfUnused(key, entry);
    });
    pool.on("connectionError", () => this.dropIfUnused(key, entry));
    return entry;
  }

  /** Closes the pools of webhooks with no attempt in flight, least recently used first, until the sockets fit. */
  private evictIdle(): void {
    let excess = this.openSockets - this.opts.maxSockets;
    for (const [key, entry] of this.entries) {
      if (excess <= 0) break;
      if (entry.inFlight > 0 || entry.sockets === 0) continue;
      excess -= entry.sockets;
      this.drop(key, entry);
    }
  }

  /**
   * A pool with no socket left and no attempt in flight is dropped at once, as undici's Agent does:
   * undici reconnects for a request aborted mid-flight (a timed-out attempt) as if it were still
   * queued, and that socket would otherwise idle until the pool's idle timeout.
   */
  private dropIfUnused(key: string, entry: Entry): void {
    if (entry.inFlight === 0 && entry.sockets === 0 && this.entries.get(key) === entry) this.drop(key, entry);
  }

  private closeIdle(): void {
    const before = Date.now() - this.opts.idleMs;
    for (const [key, entry] of this.entries) if (entry.inFlight === 0 && entry.lastUsed < before) this.drop(key, entry);
  }

  private drop(key: string, entry: Entry): void {
    this.entries.delete(key);
    const connector = this.connectors.get(entry.connectorKey);
    if (connector && --connector.pools === 0) this.connectors.delete(entry.connectorKey);
    // Nothing of this pool is in flight: its sockets are idle (or an abandoned attempt's, which may go too).
    void entry.pool.destroy().catch(() => {});
  }
}
