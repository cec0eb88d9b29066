import pg from "pg";
import { DeliveryListener, DeliveryNotifier } from "./notifier.js";
import { Kysely, PostgresDialect } from "kysely";
import type { Store } from "../db.js";
import type { Database } from "../schema.js";
import { preparedName } from "../fixed-statement.js";

// bigint columns hold epoch milliseconds and counters, all far below 2^53.
pg.types.setTypeParser(20, (v) => Number(v));

/** How long taking a connection may wait for the server before the caller gets an error (and the API a 503). */
const CONNECT_TIMEOUT_MS = 5_000;

/**
 * Every connection starts with the lock and statement timeouts, so a statement blocked by another
 * session's lock (an operator's `LOCK TABLE`, a long migration) fails with 55P03 / 57014 instead
 * of holding the request: the API answers 503 with Retry-After. Migrations lift them on their own
 * connection (migrations.ts).
 */
export function openPostgres(url: string, poolSize: number, timeouts: { lockTimeoutMs: number; statementTimeoutMs: number }): Store {
  const pool = new pg.Pool({
    connectionString: url,
    lock_timeout: timeouts.lockTimeoutMs,
    statement_timeout: timeouts.statementTimeoutMs,
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
    namePreparedStatements(client);
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    dialect: "postgres",
    wakeups: {
      notifier: (log) => new DeliveryNotifier(db, log),
      listener: (onWake, log) => new DeliveryListener({ connectionString: url, onWake, log }),
    },
    hostTransactions: true,
    async close() {
      await db.destroy();
    },
  };
}

/**
 * The hot path's fixed statements (fixed-statement.ts) go to the server as named prepared
 * statements: each connection parses and plans them once instead of on every call. Everything
 * else is sent as before (unnamed).
 */
function namePreparedStatements(client: pg.PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as { query: unknown }).query = (config: unknown, values?: unknown, callback?: unknown) => {
    const name = typeof config === "string" ? preparedName(config) : undefined;
    if (name === undefined || typeof values === "function") return query(config, values, callback);
    return query({ name, text: config, values }, callback);
  };
}
