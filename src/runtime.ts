/**
 * Assembles the pieces from one resolved configuration: store (migrated), catalog, credentials,
 * and on demand the HTTP API and the delivery worker. The CLI and the library both start here.
 */
import type { LookupFunction } from "node:net";
import type { FastifyInstance } from "fastify";
import pino, { type Logger } from "pino";
import { buildApi } from "./api/app.js";
import { resolveConfig, type ConfigOverrides, type ResolvedConfig } from "./config.js";
import { Housekeeping } from "./delivery/housekeeping.js";
import { createMetrics, type Metrics } from "./delivery/metrics.js";
import { MetricsServer } from "./delivery/metrics-server.js";
import { SenderThreads } from "./delivery/sender-threads.js";
import { Worker } from "./delivery/worker.js";
import { Outbox, notifySecret } from "./notify/outbox.js";
import { createContext, type Context } from "./services/context.js";
import { seedCatalog } from "./services/event-types.js";
import { loadClusterCredentials } from "./services/cluster-credentials.js";
import { loadCredentials, type Credentials } from "./services/tokens.js";
import { openStore } from "./store/db.js";
import { startTracing } from "./tracing.js";
import { HOOKLINE_VERSION } from "./version.js";
import { migrate } from "./store/migrations.js";
import { listenUrlOf, type DeliveryListener, type DeliveryNotifier } from "./store/postgres/notifier.js";

export interface RuntimeOptions {
  /** Explicit settings; they win over `env`. */
  config?: ConfigOverrides;
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  now?: () => number;
  /** Extra CAs for delivery (tests); production uses NODE_EXTRA_CA_CERTS. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** DNS resolver hook for delivery (tests). */
  lookup?: LookupFunction;
  /** Worker tuning (tests). */
  pollIntervalMs?: number;
}

export class Runtime {
  api: FastifyInstance | null = null;
  worker: Worker | null = null;
  /** PostgreSQL: the worker's LISTEN connection (null on SQLite or without a worker). */
  listener: DeliveryListener | null = null;
  private housekeeping: Housekeeping | null = null;
  private metricsServer: MetricsServer | null = null;
  /** The worker's sender threads (null without a worker). */
  senderThreads: SenderThreads | null = null;
  private closed = false;

  private constructor(
    readonly ctx: Context,
    readonly creds: Credentials,
    readonly metrics: Metrics,
    private readonly opts: RuntimeOptions,
    /** PostgreSQL: wakes the workers of every node after a publish here. */
    private readonly notifier: DeliveryNotifier | null,
  ) {}

  static async start(opts: RuntimeOptions = {}): Promise<Runtime> {
    const config: ResolvedConfig = resolveConfig(opts.env ?? process.env, opts.config ?? {});
    const log = opts.logger ?? pino({ level: config.logLevel, base: { service: "hookline" } });
    const store = await openStore({
      databaseUrl: config.databaseUrl,
      poolSize: config.poolSize,
      lockTimeoutMs: config.dbLockTimeoutMs,
      statementTimeoutMs: config.dbStatementTimeoutMs,
      pooler: config.pgPooler === "transaction",
      listenUrl: listenUrlOf(config),
    });
    try {
      await migrate(store.db);
      const ctx = createContext(config, store, log, opts.now);
      ctx.tracing = await startTracing(config.otlpEndpoint, opts.env ?? process.env, HOOKLINE_VERSION);
      await seedCatalog(ctx);
      if (!config.encryptionKey) log.warn("HOOKLINE_ENCRYPTION_KEY is not set: webhook secrets are stored in plaintext in the database");
      // Without a data directory (PostgreSQL), generated credentials are the cluster's, stored once in the database.
      const creds =
        config.dataDir === null
          ? await loadClusterCredentials(ctx)
          : loadCredentials({ dataDir: config.dataDir, adminToken: config.adminToken, secretKey: config.secretKey });
      const notifier = store.wakeups?.notifier(log) ?? null;
      if (notifier) ctx.signals.on("published", () => notifier.notify());
      return new Runtime(ctx, creds, createMetrics(ctx), opts, notifier);
    } catch (err) {
      await store.close();
      throw err;
    }
  }

  get config(): ResolvedConfig {
    return this.ctx.config;
  }

  /** Starts the HTTP API (and UI) on `port`; answers the bound address. */
  async listen(port = this.config.port, host = "0.0.0.0"): Promise<string> {
    if (!this.api) this.api = await buildApi(this.ctx, this.creds, this.metrics);
    return this.api.listen({ port, host });
  }

  /** Starts the delivery worker, the notification outbox and the retention purge. */
  startWorker(overrides: { concurrency?: number } = {}): Worker {
    if (this.worker) return this.worker;
    this.senderThreads = new SenderThreads({
      threads: this.config.senderThreads,
      timeoutMs: this.config.timeoutMs,
      urlPolicy: this.config.urlPolicy,
      connectionsPerWebhook: this.config.perWebhookConcurrency,
      ca: this.opts.ca,
      lookup: this.opts.lookup,
      keyRing: this.config.encryptionKey ?? null,
      proxyUrl: this.config.proxyUrl,
      log: this.ctx.log,
    });
    const outbox = new Outbox(this.ctx, notifySecret(this.config.notifySecret, this.creds.secretKey), { ca: this.opts.ca });
    this.housekeeping = new Housekeeping(this.ctx, outbox);
    this.worker = new Worker(
      this.ctx,
      this.senderThreads,
      this.metrics,
      {
        concurrency: overrides.concurrency ?? this.config.concurrency,
        perWebhookConcurrency: this.config.perWebhookConcurrency,
        pollIntervalMs: this.opts.pollIntervalMs,
      },
      () => this.housekeeping?.sendNotifications(),
    );
    this.worker.start();
    this.housekeeping.start();
    const worker = this.worker;
    this.listener = this.ctx.store.wakeups?.listener?.(() => worker.wake(), this.ctx.log) ?? null;
    this.listener?.start();
    return this.worker;
  }

  /** Serves /metrics, /healthz and /readyz on their own port (a worker node's); answers the bound port. */
  async serveMetrics(port: number, host = "0.0.0.0"): Promise<number> {
    this.metricsServer ??= new MetricsServer(this.ctx, this.metrics);
    return this.metricsServer.listen(port, host);
  }

  /** Stops accepting requests, drains in-flight attempts, closes the database. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.api?.close();
    await this.metricsServer?.close();
    await this.listener?.stop();
    await this.worker?.stop();
    await this.housekeeping?.stop();
    await this.senderThreads?.close();
    await this.notifier?.close();
    await this.ctx.tracing?.shutdown();
    await this.ctx.store.close();
  }
}
