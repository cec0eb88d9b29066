/**
 * Versioned migrations, shared by both dialects (column types differ only where `ts` does:
 * 64-bit integers are `integer` on SQLite and `bigint` on PostgreSQL). The whole run, Kysely's own
 * bookkeeping tables included, happens under a lock, so several nodes starting (or `hookline migrate`
 * running) at once never race: the first migrates, the others wait and then find nothing to do.
 * PostgreSQL: one transaction under a transaction-scoped advisory lock; nothing of it outlives the
 * transaction, so it runs the same through a pooler in transaction mode. SQLite: the write lock of
 * one transaction.
 */
import { Kysely, Migrator, sql, type Migration } from "kysely";
import type { Dialect } from "./db.js";
import { isSqlite } from "./fixed-statement.js";
import { insideTransaction } from "./postgres/migrator-in-transaction.js";
import { ROLLUPS_FROM_LOG } from "./log-rollups.js";
import { abandonLogPartitioning, ensureLogPartitions, isLockTimeout, partitionLogEntries, prepareLogPartitioning } from "./postgres/log-partitions.js";
import { completeLogIndexes, logEntriesFewerWrites0013 } from "./postgres/log-indexes.js";

function migrations(dialect: Dialect): Record<string, Migration> {
  const ts = dialect === "postgres" ? "bigint" : "integer";
  return {
    "0001_initial": {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable("projects")
          .addColumn("id", "text", (c) => c.primaryKey())
          .addColumn("name", "text", (c) => c.notNull())
          .addColumn("notification_emails", "text", (c) => c.notNull().defaultTo("[]"))
          .addColumn("created_at", ts, (c) => c.notNull())
          .addColumn("updated_at", ts, (c) => c.notNull())
          .execute();

        await db.schema
          .createTable("event_types")
          .addColumn("name", "text", (c) => c.primaryKey())
          .addColumn("description", "text", (c) => c.notNull())
          .addColumn("example", "text", (c) => c.notNull().defaultTo("{}"))
          .addColumn("created_at", ts, (c) => c.notNull())
          .addColumn("updated_at", ts, (c) => c.notNull())
          .execute();

        await db.schema
          .createTable("webhooks")
          .addColumn("id", "text", (c) => c.primaryKey())
          .addColumn("project_id", "text", (c) => c.notNull().references("projects.id").onDelete("cascade"))
          .addColumn("name", "text", (c) => c.notNull())
          .addColumn("events", "text", (c) => c.notNull())
          .addColumn("url", "text", (c) => c.notNull())
          .addColumn("secret", "text")
          .addColumn("enabled", "integer", (c) => c.notNull())
          .addColumn("disabled_reason", "text")
          .addColumn("disabled_at", ts)
          .addColumn("created_at", ts, (c) => c.notNull())
          .addColumn("updated_at", ts, (c) => c.notNull())
          .execute();
        await db.schema.createIndex("webhooks_project").on("webhooks").columns(["project_id", "enabled"]).execute();

        await db.schema
          .createTable("events")
          .addColumn("id", "text", (c) => c.primaryKey())
          .addColumn("project_id", "text", (c) => c.notNull().references("projects.id").onDelete("cascade"))
          .addColumn("event", "text", (c) => c.notNull())
          .addColumn("payload", "text", (c) => c.notNull())
          .addColumn("created_at", ts, (c) => c.notNull())
          .execute();
        await db.schema.createIndex("events_created").on("events").column("created_at").execute();

        await db.schema
          .createTable("deliveries")
          .addColumn("id", "text", (c) => c.primaryKey())
          .addColumn("event_id", "text", (c) => c.notNull().references("events.id").onDelete("cascade"))
          .addColumn("webhook_id", "text", (c) => c.notNull().references("webhooks.id").onDelete("cascade"))
          .addColumn("project_id", "text", (c) => c.notNull())
          .addColumn("trigger", "text", (c) => c.notNull())
          .addColumn("status", "text", (c) => c.notNull())
          .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
          .addColumn("max_attempts", "integer", (c) => c.notNull())
          .addColumn("run_at", ts, (c) => c.notNull())
          .addColumn("lease_token", "text")
          .addColumn("created_at", ts, (c) => c.notNull())
          .addColumn("updated_at", ts, (c) => c.notNull())
          .execute();
        // The claim query's index: only pending rows, by due time.
        await sql`create index deliveries_due on deliveries (run_at) where status = 'pending'`.execute(db);
        await db.schema.createIndex("deliveries_webhook").on("deliveries").columns(["webhook_id", "status"]).execute();
        await db.schema.createIndex("deliveries_event").on("deliveries").column("event_id").execute();
        await db.schema.createIndex("deliveries_finished").on("deliveries").columns(["status", "updated_at"]).execute();

        await db.schema
          .createTable("log_entries")
          .addColumn("id", "text", (c) => c.primaryKey())
          .addColumn("webhook_id", "text", (c) => c.notNull().references("webhooks.id").onDelete("cascade"))
          .addColumn("delivery_id", "text", (c) => c.notNull().references("deliveries.id").onDelete("cascade"))
          .addColumn("project_id", "text", (c) => c.notNull())
          .addColumn("event", "text", (c) => c.notNull())
          .addColumn("attempt", "integer", (c) => c.notNull())
          .addColumn("trigger", "text", (c) => c.notNull())
          .addColumn("success", "integer", (c) => c.notNull())
          .addColumn("status_code", "integer")
          .addColumn("error", "text")
          .addColumn("duration_ms", "integer", (c) => c.notNull())
          .addColumn("created_at", ts, (c) => c.notNull())
          .addColumn("request", "text", (c) => c.notNull())
          .addColumn("response", "text")
          .execute();
        await db.schema.createIndex("log_entries_webhook").on("log_entries").columns(["webhook_id", "id"]).execute();
        await db.schema.createIndex("log_entries_delivery").on("log_entries").column("delivery_id").execute();
        await db.schema.createIndex("log_entries_created").on("log_entries").column("created_at").execute();

        await db.schema
          .createTable("notifications")
          .addColumn("id", "text", (c) => c.primaryKey())
          .addColumn("project_id", "text", (c) => c.notNull().references("projects.id").onDelete("cascade"))
          .addColumn("kind", "text", (c) => c.notNull())
          .addColumn("webhook_id", "text")
          .addColumn("message", "text", (c) => c.notNull())
          .addColumn("created_at", ts, (c) => c.notNull())
          .addColumn("read_at", ts)
          .addColumn("email_state", "text", (c) => c.notNull().defaultTo("none"))
          .addColumn("callback_state", "text", (c) => c.notNull().defaultTo("none"))
          .addColumn("outbox_run_at", ts)
          .addColumn("outbox_attempts", "integer", (c) => c.notNull().defaultTo(0))
          .execute();
        await db.schema.createIndex("notifications_project").on("notifications").columns(["project_id", "id"]).execute();
        await sql`create index notifications_outbox on notifications (outbox_run_at) where outbox_run_at is not null`.execute(db);

        await db.schema
          .createTable("idempotency_keys")
          .addColumn("project_id", "text", (c) => c.notNull().references("projects.id").onDelete("cascade"))
          .addColumn("key", "text", (c) => c.notNull())
          .addColumn("response", "text", (c) => c.notNull())
          .addColumn("created_at", ts, (c) => c.notNull())
          .addPrimaryKeyConstraint("idempotency_keys_pk", ["project_id", "key"])
          .execute();
        await db.schema.createIndex("idempotency_keys_created").on("idempotency_keys").column("created_at").execute();
      },
    },
    // SQLite only: PostgreSQL keeps its own statistics (autovacuum's analyze).
    ...(dialect === "sqlite" ? { "0002_sqlite_planner_stats": { up: seedSqlitePlannerStats } } : {}),
    "0003_delivery_lease_until": {
      // The lease moves out of run_at into its own column. A claim used to rewrite run_at, an indexed
      // column: every claim moved the row in deliveries_due, and on PostgreSQL each claim was a
      // non-HOT update leaving a dead index entry at the head of the queue that every later claim
      // stepped over (1,300 buffers per claim at 50,000 deliveries drained). Now a claim writes only
      // lease_token and lease_until; rows being attempted stay in deliveries_due and the claim skips
      // them (at most the attempts in flight).
      async up(db: Kysely<any>) {
        await db.schema.alterTable("deliveries").addColumn("lease_until", ts).execute();
        if (dialect === "postgres") {
          // Room on each page for the claim's HOT update, and vacuum the queue table early: its rows
          // are updated twice within seconds of being inserted.
          await sql`alter table deliveries set (fillfactor = 80, autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 1000, autovacuum_analyze_scale_factor = 0.05)`.execute(
            db,
          );
        }
      },
    },
    "0004_delivery_claim_by_webhook": {
      // The claim seeks each webhook's queue on its own (deliveries_webhook_due, pending rows by
      // webhook and due time) and counts each webhook's attempts in flight from live leases
      // (deliveries_leased, only leased rows: as small as the attempts in flight), so every worker
      // process sees the same count. A webhook's in-flight limit, lowered while its attempts time
      // out, is kept on the webhook (inflight_limit, null: the setting) for every worker to see.
      // Each delivery carries the retry delays it was created with (retry_delays, JSON array of ms).
      async up(db: Kysely<any>) {
        await db.schema.alterTable("webhooks").addColumn("inflight_limit", "integer").execute();
        await db.schema.alterTable("deliveries").addColumn("retry_delays", "text").execute();
        await sql`create index deliveries_webhook_due on deliveries (webhook_id, run_at) where status = 'pending'`.execute(db);
        await sql`create index deliveries_leased on deliveries (webhook_id, lease_until) where lease_token is not null`.execute(db);
        await sql`drop index deliveries_due`.execute(db);
        if (dialect === "sqlite") {
          await sql`delete from sqlite_stat1 where tbl = 'deliveries' and idx = 'deliveries_due'`.execute(db);
          await writeSqliteStats(db, [
            ["deliveries", "deliveries_webhook_due", "20000 50 2"],
            ["deliveries", "deliveries_leased", "200 10 1"],
          ]);
        }
      },
    },
    "0005_receivers_trust": {
      // Secret rotation (the previous secret, sealed like the current one, until it expires), the
      // Ed25519 signing key (private key sealed like secrets; the public key is not secret), and the
      // indexes of the log's filters and of recover's scan of a project's events by time.
      async up(db: Kysely<any>) {
        await db.schema.alterTable("webhooks").addColumn("previous_secret", "text").execute();
        await db.schema.alterTable("webhooks").addColumn("previous_secret_expires_at", ts).execute();
        await db.schema.alterTable("webhooks").addColumn("signing_key", "text").execute();
        await db.schema.alterTable("webhooks").addColumn("public_key", "text").execute();
        await db.schema.createIndex("log_entries_webhook_created").on("log_entries").columns(["webhook_id", "created_at"]).execute();
        await db.schema.createIndex("log_entries_webhook_status").on("log_entries").columns(["webhook_id", "status_code", "id"]).execute();
        await db.schema.createIndex("log_entries_webhook_trigger").on("log_entries").columns(["webhook_id", "trigger", "id"]).execute();
        await db.schema.createIndex("events_project_created").on("events").columns(["project_id", "created_at"]).execute();
        if (dialect === "sqlite") {
          await seedSqlitePlannerStats(db, [
            "log_entries_webhook_created",
            "log_entries_webhook_status",
            "log_entries_webhook_trigger",
            "events_project_created",
          ]);
        }
      },
    },
    "0006_cluster_credentials": {
      // Generated credentials shared by every node on one database (services/cluster-credentials.ts):
      // the admin token's SHA-256, and the portal-token key (sealed when HOOKLINE_ENCRYPTION_KEY is set).
      async up(db: Kysely<any>) {
        await db.schema
          .createTable("cluster_credentials")
          .addColumn("name", "text", (c) => c.primaryKey())
          .addColumn("value", "text", (c) => c.notNull())
          .addColumn("created_at", ts, (c) => c.notNull())
          .execute();
      },
    },
    "0006_event_trace_context": {
      // The W3C trace context (`traceparent`) of the publish that stored the event, when tracing is
      // on: a worker in any process makes each attempt's span a child of it (src/tracing.ts).
      async up(db: Kysely<any>) {
        await db.schema.alterTable("events").addColumn("trace_context", "text").execute();
      },
    },
    "0006_event_type_schema": {
      // The JSON Schema (draft 2020-12, as JSON text) a published subject must match; null: none.
      async up(db: Kysely<any>) {
        await db.schema.alterTable("event_types").addColumn("schema", "text").execute();
      },
    },
    "0007_log_entries_stats_and_failed": {
      // The 24 h stats read every attempt of one webhook since a time: (webhook_id, created_at,
      // success, duration_ms) answers that from the index alone, in time order, instead of visiting
      // all the webhook's entries (1.2 s at 300,000 entries on SQLite; docs/performance.md,
      // log_scale). The failed-attempts page seeks the failures only (a partial index: a few percent
      // of the rows, so little extra work per attempt written); the list query writes the filter as
      // a literal so both planners can match the index's condition.
      async up(db: Kysely<any>) {
        await sql`create index log_entries_webhook_time on log_entries (webhook_id, created_at, success, duration_ms)`.execute(db);
        await sql`create index log_entries_webhook_failed on log_entries (webhook_id, id) where success = 0`.execute(db);
        // It holds everything log_entries_webhook_created (0005) did and more: one index less per attempt written.
        await sql`drop index if exists log_entries_webhook_created`.execute(db);
        if (dialect === "sqlite") {
          await writeSqliteStats(db, [
            ["log_entries", "log_entries_webhook_time", "2000000 4000 2 2 2"],
            ["log_entries", "log_entries_webhook_failed", "100000 200 1"],
          ]);
        }
      },
    },
    "0008_delivery_indexes_outside_the_hot_path": {
      // Fewer index entries written per delivery (docs/performance.md, "Write less per delivery").
      // deliveries_webhook (webhook_id, status) moved in the index at every outcome, for queries that
      // filter by webhook alone (the webhook's delete, the log's event filter): now (webhook_id).
      // Pending rows have deliveries_webhook_due; the webhook's pending rows are found there.
      // deliveries_finished (status, updated_at) served only the retention purge, which reads
      // finished rows: now only they are in it, so a publish and a retry write nothing to it.
      async up(db: Kysely<any>) {
        await sql`drop index deliveries_webhook`.execute(db);
        await sql`create index deliveries_webhook on deliveries (webhook_id)`.execute(db);
        await sql`drop index deliveries_finished`.execute(db);
        await sql`create index deliveries_finished on deliveries (status, updated_at) where status <> 'pending'`.execute(db);
        if (dialect === "sqlite") {
          await writeSqliteStats(db, [
            ["deliveries", "deliveries_webhook", "1000000 2000"],
            ["deliveries", "deliveries_finished", "1000000 330000 2"],
          ]);
        }
      },
    },
    "0009_webhook_receiver_options": {
      // Receiver options (docs/receivers.md): custom headers (JSON, not secret), the auth without its
      // secret (JSON) and that secret (sealed like secrets), and the client certificate (PEM) with
      // its private key (sealed like secrets).
      async up(db: Kysely<any>) {
        for (const column of ["headers", "auth", "auth_secret", "client_cert", "client_key"]) {
          await db.schema.alterTable("webhooks").addColumn(column, "text").execute();
        }
      },
    },
    "0010_webhook_delivery_policies": {
      // Per-webhook delivery policies (docs/delivery-policies.md): the payload filter (JSON text,
      // read at fan-out), the rate limit and the state the claim counts it with (the theoretical
      // arrival time of the next start, epoch ms: every worker reads and advances the same one),
      // and the ordering. No index: none of them is read outside a webhook row.
      async up(db: Kysely<any>) {
        await db.schema.alterTable("webhooks").addColumn("filter", "text").execute();
        await db.schema
          .alterTable("webhooks")
          .addColumn("rate_limit_per_second", dialect === "postgres" ? "double precision" : "real")
          .execute();
        await db.schema.alterTable("webhooks").addColumn("rate_limit_tat", ts).execute();
        await db.schema
          .alterTable("webhooks")
          .addColumn("ordering", "text", (c) => c.notNull().defaultTo("none"))
          .execute();
      },
    },
    "0011_log_hourly_rollups": {
      // The 24 h stats and the chart read hourly rollups instead of every entry of the day
      // (store/log-rollups.ts), filled here from the entries already logged. PostgreSQL: the log
      // takes no writes while they are counted (a node still running the previous version would
      // log attempts the count misses); about a second per million entries. The stats' index on
      // the log (0007) has no reader left: one index less written per attempt.
      async up(db: Kysely<any>) {
        await sql`create table log_hourly_rollups (
          webhook_id text not null references webhooks (id) on delete cascade,
          hour_start ${sql.raw(ts)} not null,
          duration_ms integer not null,
          succeeded integer not null,
          failed integer not null,
          primary key (webhook_id, hour_start, duration_ms)
        )${sql.raw(dialect === "sqlite" ? " without rowid" : "")}`.execute(db);
        if (dialect === "postgres") await sql`lock table log_entries in share mode`.execute(db);
        await sql`insert into log_hourly_rollups (webhook_id, hour_start, duration_ms, succeeded, failed) ${sql.raw(ROLLUPS_FROM_LOG)}`.execute(db);
        await sql`drop index if exists log_entries_webhook_time`.execute(db);
      },
    },
    // PostgreSQL only: the log partitioned by day, so that retention drops whole expired days
    // (store/postgres/log-partitions.ts; docs/scaling.md). A populated log is attached as it stands,
    // its bound proved beforehand outside this transaction (migrate() below): no row is read under
    // the lock. SQLite keeps one table and its paced purge.
    ...(dialect === "postgres" ? { "0012_log_entries_partitioned_by_day": { up: (db: Kysely<any>) => partitionLogEntries(db, Date.now()) } } : {}),
    // PostgreSQL only, less written per attempt logged (store/postgres/log-indexes.ts,
    // logEntriesFewerWrites0013): the log's foreign key to webhooks goes (a webhook's deletion
    // reaches its entries through its deliveries), and two of its indexes are replaced by cheaper
    // ones that serve the same reads (a BRIN on created_at; the trigger index keeps the rare
    // triggers only), one b-tree insert fewer each. Populated partitions build theirs after this
    // transaction, concurrently (migrate() below). SQLite keeps its b-trees (its purge and filters
    // read them; it has no BRIN) and its foreign keys.
    ...(dialect === "postgres" ? { "0013_log_entries_fewer_writes": { up: logEntriesFewerWrites0013 } } : {}),
  };
}

/**
 * SQLite plans without statistics assume an equality on any indexed column matches about ten rows,
 * so `status = 'pending'` looked as selective as a primary key: the outcome update (`id in (…) and
 * status = 'pending'`) scanned every pending row through deliveries_finished (1.4 ms at 20,000
 * pending instead of microseconds), and the claim sorted them all. Representative statistics of a
 * well-used database (few statuses, unique ids) make every such plan pick the selective index,
 * whatever the tables hold right now. A later ANALYZE replaces them with measured ones.
 */
type SqliteStat = [table: string, index: string, stat: string];

const SQLITE_STATS: SqliteStat[] = [
  ["deliveries", "sqlite_autoindex_deliveries_1", "1000000 1"],
  ["deliveries", "deliveries_due", "20000 2"],
  ["deliveries", "deliveries_webhook", "1000000 2000 500"],
  ["deliveries", "deliveries_event", "1000000 5"],
  ["deliveries", "deliveries_finished", "1000000 250000 2"],
  ["log_entries", "sqlite_autoindex_log_entries_1", "2000000 1"],
  ["log_entries", "log_entries_webhook", "2000000 4000 1"],
  ["log_entries", "log_entries_delivery", "2000000 2"],
  ["log_entries", "log_entries_created", "2000000 2"],
  // Without these the planner would take the new indexes to be as selective as (webhook_id, id)
  // and could sort a webhook's whole log for a plain page.
  ["log_entries", "log_entries_webhook_created", "2000000 4000 2"],
  ["log_entries", "log_entries_webhook_status", "2000000 4000 400 1"],
  ["log_entries", "log_entries_webhook_trigger", "2000000 4000 1500 1"],
  ["events", "events_project_created", "200000 1000 2"],
  ["events", "sqlite_autoindex_events_1", "200000 1"],
  ["events", "events_created", "200000 2"],
  ["webhooks", "sqlite_autoindex_webhooks_1", "1000 1"],
  ["webhooks", "webhooks_project", "1000 5 3"],
  ["projects", "sqlite_autoindex_projects_1", "200 1"],
  ["notifications", "sqlite_autoindex_notifications_1", "1000 1"],
  ["notifications", "notifications_project", "1000 5 1"],
  ["notifications", "notifications_outbox", "10 1"],
  ["idempotency_keys", "sqlite_autoindex_idempotency_keys_1", "100000 200 1"],
  ["idempotency_keys", "idempotency_keys_created", "100000 2"],
];

/** Seeds the statistics of `only` (default: every index listed that exists), leaving measured ones of the others alone. */
async function seedSqlitePlannerStats(db: Kysely<any>, only?: string[]): Promise<void> {
  await sql`analyze event_types`.execute(db); // creates sqlite_stat1 (a tiny table: no full scan of an old database)
  const indexes = new Set((await sql<{ name: string }>`select name from sqlite_master where type = 'index'`.execute(db)).rows.map((r) => r.name));
  const stats = SQLITE_STATS.filter(([, index]) => indexes.has(index) && (!only || only.includes(index)));
  await writeSqliteStats(db, stats);
}

/** Replaces the statistics of the given indexes and loads them into this connection's planner. */
async function writeSqliteStats(db: Kysely<any>, stats: SqliteStat[]): Promise<void> {
  for (const [table, index, stat] of stats) {
    await sql`delete from sqlite_stat1 where tbl = ${table} and idx = ${index}`.execute(db);
    await sql`insert into sqlite_stat1 (tbl, idx, stat) values (${table}, ${index}, ${stat})`.execute(db);
  }
  await sql`analyze sqlite_schema`.execute(db);
}

/**
 * The advisory lock key: any constant that no other application on the database uses ("hookline" in
 * hex). The log's partition changes (store/postgres/log-partitions.ts) take it too.
 */
export const MIGRATION_LOCK_KEY = 0x686f6f6b6c696e65n;

/** How many times the migrations' transaction is run when a lock it waits for only a moment is not granted. */
const MIGRATION_TRIES = 200;

/**
 * Applies every pending migration (up to `target` when given); throws with the failing migration's
 * error. PostgreSQL: before the migrations' transaction, the part of 0012 that reads the whole log
 * runs in short transactions of its own (prepareLogPartitioning), and after it the day partitions
 * of today and the next days are made if missing (every start), and the indexes of 0013 are
 * built on the partitions that had rows (completeLogIndexes; nothing to do once done).
 */
export async function migrate(db: Kysely<any>, target?: string): Promise<string[]> {
  if (isSqlite(db)) return migrateSqlite(db, target);
  if (target === undefined) await prepareLogPartitioning(db, Date.now(), MIGRATION_LOCK_KEY);
  let applied: string[];
  try {
    // 0012 gives way when the locks it needs are not granted within a moment (log-partitions.ts); run it again.
    for (let tries = 1; ; tries++) {
      try {
        applied = await migratePostgres(db, target);
        break;
      } catch (err) {
        if (!isLockTimeout(err) || tries >= MIGRATION_TRIES) throw err;
        await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 200));
      }
    }
  } catch (err) {
    await abandonLogPartitioning(db).catch(() => {});
    throw err;
  }
  await ensureLogPartitions(db, Date.now(), MIGRATION_LOCK_KEY);
  if (target === undefined) await completeLogIndexes(db, MIGRATION_LOCK_KEY);
  return applied;
}

async function migratePostgres(db: Kysely<any>, target: string | undefined): Promise<string[]> {
  // If the process dies, the server ends the transaction and the lock with it, so a crashed node
  // never blocks the others.
  return db.transaction().execute(async (trx) => {
    // Migrations may wait for another node's (and rewrite big tables): no lock or statement timeout.
    await sql`set local lock_timeout = 0`.execute(trx);
    await sql`set local statement_timeout = 0`.execute(trx);
    await sql`select pg_advisory_xact_lock(${sql.lit(MIGRATION_LOCK_KEY)})`.execute(trx);
    return runMigrator(insideTransaction(trx), "postgres", target);
  });
}

/**
 * SQLite: the whole run is one transaction that takes the database's write lock before it reads
 * which migrations are applied (BEGIN IMMEDIATE), so processes migrating one file at once take
 * turns: the first applies everything, the others then find nothing to do. Without it each read
 * the same empty bookkeeping table and the second failed on "table already exists". A migration
 * that fails leaves nothing half applied.
 */
async function migrateSqlite(db: Kysely<any>, target: string | undefined): Promise<string[]> {
  return db.connection().execute(async (conn) => {
    await beginImmediate(conn);
    try {
      const applied = await runMigrator(conn, "sqlite", target);
      await sql`commit`.execute(conn);
      return applied;
    } catch (err) {
      await sql`rollback`.execute(conn).catch(() => {});
      throw err;
    }
  });
}

/** How long a start waits for another process's migrations (they may rewrite a big table). */
const SQLITE_MIGRATION_WAIT_MS = 10 * 60_000;

async function beginImmediate(conn: Kysely<any>): Promise<void> {
  const deadline = Date.now() + SQLITE_MIGRATION_WAIT_MS;
  for (;;) {
    try {
      // The connection's busy timeout waits a while each time; another process may take longer.
      await sql`begin immediate`.execute(conn);
      return;
    } catch (err) {
      if ((err as { code?: string }).code !== "SQLITE_BUSY" || Date.now() > deadline) throw err;
    }
  }
}

/** Up to `target` (a migration's name; tests build an older schema with it), or to the latest. */
async function runMigrator(db: Kysely<any>, dialect: Dialect, target?: string): Promise<string[]> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations(dialect) } });
  const { error, results } = target === undefined ? await migrator.migrateToLatest() : await migrator.migrateTo(target);
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName);
}
