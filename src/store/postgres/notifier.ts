/**
 * LISTEN/NOTIFY between nodes. NOTIFY is a hint, polling is the truth: after a publish commits, its
 * node sends `NOTIFY hookline_deliveries`, and every worker process holds one dedicated LISTEN
 * connection that wakes it within milliseconds. Workers still poll, so a lost notification costs
 * latency only; a lost LISTEN connection reconnects with backoff and forces a fetch once it is back
 * (whatever was published while nobody listened is found then).
 *
 * Each store (one per process's Runtime) names itself in its notifications' payload, and its own
 * LISTEN connection passes over what it sent itself: the publish that asked for that NOTIFY already
 * woke this process's worker through its in-process signal, and a second wake a few milliseconds
 * later only made the worker start another claim pass, often for a few slots (docs/performance.md,
 * "PostgreSQL throughput: the pipeline and the process").
 */
import pg from "pg";
import { sql, type Kysely } from "kysely";
import { Backoff } from "../../lib/backoff.js";
import { CoalescedRun } from "../../lib/coalesced-run.js";

export const DELIVERIES_CHANNEL = "hookline_deliveries";

/**
 * Where a worker LISTENs: HOOKLINE_PG_LISTEN_URL, else DATABASE_URL; nowhere behind a pooler in
 * transaction mode without HOOKLINE_PG_LISTEN_URL (a LISTEN there would end with its transaction,
 * so the worker relies on polling), nor on SQLite.
 */
export function listenUrlOf(config: { dialect: string; databaseUrl: string; pgPooler?: string; pgListenUrl?: string }): string | undefined {
  if (config.dialect !== "postgres") return undefined;
  return config.pgListenUrl ?? (config.pgPooler === "transaction" ? undefined : config.databaseUrl);
}

export interface WakeupLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

const errInfo = (err: unknown) => ({ err: { message: (err as Error).message, code: (err as { code?: string }).code } });

/**
 * Sends the NOTIFY after publishes, coalesced: one statement in flight per process and at most one
 * queued behind it, so a burst of publishes costs two round trips rather than one per event. The
 * queued one is what makes coalescing safe: it runs after every commit that asked for it.
 */
export class DeliveryNotifier {
  private readonly sends = new CoalescedRun(async () => {
    try {
      await sql`select pg_notify(${DELIVERIES_CHANNEL}, ${this.origin})`.execute(this.db);
    } catch (err) {
      // Workers find the deliveries by polling anyway; the database being away is reported elsewhere.
      this.log.warn(errInfo(err), "NOTIFY after publish failed; workers will find the deliveries by polling");
    }
  });

  constructor(
    private readonly db: Kysely<any>,
    private readonly log: WakeupLog,
    /** This store's name in the payload, so that its own listener passes over it (empty: nobody does). */
    private readonly origin = "",
  ) {}

  notify(): void {
    void this.sends.request();
  }

  /** Sends what is queued, then stops (call before the pool closes). */
  close(): Promise<void> {
    return this.sends.close();
  }
}

export interface ListenerOptions {
  connectionString: string;
  /** Called on every notification and after each (re)connect; the worker makes one claim pass. */
  onWake(reason: "notification" | "connected"): void;
  log: WakeupLog;
  /** First reconnect delay; doubles up to maxBackoffMs (with jitter). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** A `select 1` on the idle connection this often, so a silently dead connection is noticed. */
  pingIntervalMs?: number;
  /** Notifications whose payload is this (the same store's DeliveryNotifier) do not wake. */
  origin?: string;
}

/** One dedicated LISTEN connection per worker process, kept alive across database restarts. */
export class DeliveryListener {
  private client: pg.Client | null = null;
  private stopped = false;
  private readonly backoff: Backoff;
  private retryTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private isConnected = false;
  /** Notifications on the channel that woke the worker, and those passed over as this store's own. */
  readonly received = { woke: 0, own: 0 };

  constructor(private readonly opts: ListenerOptions) {
    this.backoff = new Backoff({ minMs: opts.minBackoffMs ?? 100, maxMs: opts.maxBackoffMs ?? 5_000, jitter: true });
  }

  /** True while LISTEN is active on a live connection. */
  get connected(): boolean {
    return this.isConnected;
  }

  start(): void {
    this.stopped = false;
    void this.connect();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({
      connectionString: this.opts.connectionString,
      keepAlive: true,
      application_name: "hookline-listener",
      connectionTimeoutMillis: 5_000,
    });
    this.client = client;
    client.on("error", (err) => this.lost(client, err));
    client.on("end", () => this.lost(client, new Error("LISTEN connection ended")));
    client.on("notification", (msg) => {
      if (msg.channel !== DELIVERIES_CHANNEL) return;
      if (this.opts.origin && msg.payload === this.opts.origin) {
        this.received.own++;
        return;
      }
      this.received.woke++;
      this.opts.onWake("notification");
    });
    try {
      await client.connect();
      await client.query(`listen ${DELIVERIES_CHANNEL}`);
    } catch (err) {
      this.lost(client, err);
      return;
    }
    if (this.client !== client || this.stopped) {
      await client.end().catch(() => {});
      return;
    }
    if (this.backoff.failures > 0) this.opts.log.info({ after_failures: this.backoff.failures }, "LISTEN connection re-established");
    this.backoff.reset();
    this.isConnected = true;
    this.pingTimer = setInterval(() => {
      client.query("select 1").catch((err) => this.lost(client, err));
    }, this.opts.pingIntervalMs ?? 30_000);
    this.pingTimer.unref();
    // Publishes made while nobody listened sent notifications nobody got: look now.
    this.opts.onWake("connected");
  }

  private lost(client: pg.Client, err: unknown): void {
    if (this.client !== client) return; // this connection's loss is already being handled
    this.client = null;
    this.isConnected = false;
    clearInterval(this.pingTimer);
    client.end().catch(() => {});
    if (this.stopped) return;
    const delay = this.backoff.fail();
    this.opts.log.warn({ ...errInfo(err), retry_in_ms: delay, failures: this.backoff.failures }, "LISTEN connection lost; reconnecting");
    this.retryTimer = setTimeout(() => void this.connect(), delay);
    this.retryTimer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.pingTimer);
    const client = this.client;
    this.client = null;
    this.isConnected = false;
    await client?.end().catch(() => {});
  }
}
