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
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    dialect: "postgres",
    wakeups: {
      notifier: (log) => new DeliveryNotifier(db, log),
      ...(listenUrl ? { listener: (onWake: () => void, log: WakeupLog) => new DeliveryListener({ connectionString: listenUrl, onWake, log }) } : {}),
    },
    hostTransactions: true,
    async close() {
      await db.destroy();
    },
  };
}
