import crypto from "node:crypto";
import pg from "pg";
import { DeliveryListener, DeliveryNotifier, type WakeupLog } from "./notifier.js";
import { Kysely, PostgresDialect } from "kysely";
import type { Store } from "../db.js";
import type { Database } from "../schema.js";
import { applyStatementRules, type StatementRules } from "./statements.js";

// bigint columns hold epoch milliseconds and counters, all far below 2^53.
pg.types.setTypeParser(20, (v) => Number(v));

/** How long taking a connection may wait for the server before the caller gets an error (and the API a 503). */
const CONNECT_TIMEOUT_MS = 5_000;

/**
 * Every statement runs under the lock and statement timeouts, so a statement blocked by another
 * session's lock (an operator's `LOCK TABLE`, a long migration) fails with 55P03 / 57014 instead
 * of holding the request: the API answers 503 with Retry-After. A direct connection starts with
 * them; behind a pooler in transaction mode each transaction sets them (statements.ts).
 * Migrations lift them in their own transaction (migrations.ts).
 */
export function openPostgres(url: string, poolSize: number, rules: StatementRules, listenUrl?: string): Store {
  const pool = new pg.Pool({
    connectionString: url,
    // A pooler in transaction mode refuses session settings as startup parameters.
    ...(rules.pooler ? {} : { lock_timeout: rules.lockTimeoutMs, statement_timeout: rules.statementTimeoutMs }),
    max: poolSize,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    keepAlive: true,
    application_name: "hookline",
  });
  // An idle client losing its connection (database restart) must not crash the process.
  pool.on("error", () => {});
  // Nor may a checked-out one: pg-pool only listens for errors on idle clients, and a client that
  // loses its server between two statements of a transaction emits "error" with nobody listening.
  // Its next query fails instead, and the pool discards it on release.
  pool.on("connect", (client) => {
    client.on("error", () => {});
    applyStatementRules(client, rules);
  });
  const doors = new PoolDoors(pool, poolSize);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: doors.door(false) }) });
  const workerDb = new Kysely<Database>({ dialect: new PostgresDialect({ pool: doors.door(true) }) });
  // Names this store's notifications, so its own listener passes over them (notifier.ts).
  const origin = crypto.randomUUID();
  return {
    db,
    dialect: "postgres",
    wakeups: {
      notifier: (log) => new DeliveryNotifier(db, log, origin),
      ...(listenUrl ? { listener: (onWake: () => void, log: WakeupLog) => new DeliveryListener({ connectionString: listenUrl, onWake, log, origin }) } : {}),
    },
    hostTransactions: true,
    workerDb,
    async close() {
      await db.destroy();
    },
  };
}

interface Waiter {
  resolve(client: pg.PoolClient): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * One pool, two doors: Kysely instances over the same `size` connections, whose waiters are served
 * in order, except that those of the first door (the store's `workerDb`: the delivery worker's
 * claims and records) go ahead of those of the other. The worker holds at most a claim and its
 * recorder's lanes at once, so the API keeps the rest of the pool. Measured in docs/performance.md, "PostgreSQL
 * throughput: the pipeline and the process": with 32 publishes at once, 12–22 statements were
 * waiting when each claim asked for a connection.
 */
class PoolDoors {
  /** Connections handed out through either door and not yet released. */
  private out = 0;
  private readonly first: Waiter[] = [];
  private readonly others: Waiter[] = [];
  private ended = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly size: number,
  ) {}

  door(first: boolean): { connect(): Promise<pg.PoolClient>; end(): Promise<void> } {
    return {
      connect: () => this.connect(first ? this.first : this.others),
      // Ending either Kysely ends the pool: the store closes once.
      end: () => this.end(),
    };
  }

  private connect(queue: Waiter[]): Promise<pg.PoolClient> {
    if (this.ended) return Promise.reject(new Error("Cannot use a pool after calling end on the pool"));
    if (this.out < this.size) return this.take();
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        // As pg-pool words its own timeout, so callers recognise it (api/errors.ts: 503).
        timer: setTimeout(() => {
          queue.splice(queue.indexOf(waiter), 1);
          reject(new Error("timeout exceeded when trying to connect"));
        }, CONNECT_TIMEOUT_MS),
      };
      queue.push(waiter);
    });
  }

  private async take(): Promise<pg.PoolClient> {
    this.out++;
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      this.returned();
      throw err;
    }
    // pg-pool gives every checkout its own release; this one also lets the next waiter in.
    const release = client.release;
    client.release = (err?: Error | boolean) => {
      client.release = release;
      release.call(client, err);
      this.returned();
    };
    return client;
  }

  private returned(): void {
    this.out--;
    const next = this.first.shift() ?? this.others.shift();
    if (!next) return;
    clearTimeout(next.timer);
    this.take().then(next.resolve, next.reject);
  }

  private async end(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    for (const w of [...this.first.splice(0), ...this.others.splice(0)]) {
      clearTimeout(w.timer);
      w.reject(new Error("Cannot use a pool after calling end on the pool"));
    }
    await this.pool.end();
  }
}
