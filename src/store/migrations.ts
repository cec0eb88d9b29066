/**
 * Versioned migrations, shared by both dialects (column types differ only where `ts` does:
 * 64-bit integers are `integer` on SQLite and `bigint` on PostgreSQL). On PostgreSQL the whole run,
 * Kysely's own bookkeeping tables included, happens under a session advisory lock, so several nodes
 * starting (or `hookline migrate` running) at once never race: the first migrates, the others wait
 * and then find nothing to do.
 */
import { Kysely, Migrator, sql, type Migration, type MigrationProvider } from "kysely";
import type { Dialect } from "./db.js";

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
  };
}

class InCodeProvider implements MigrationProvider {
  constructor(private readonly dialect: Dialect) {}
  async getMigrations() {
    return migrations(this.dialect);
  }
}

/** The advisory lock key: any constant that no other application on the database uses ("hookline" in hex). */
const MIGRATION_LOCK_KEY = 0x686f6f6b6c696e65n;

/** Applies every pending migration; throws with the failing migration's error. */
export async function migrate(db: Kysely<any>, dialect: Dialect): Promise<string[]> {
  if (dialect === "sqlite") return runMigrator(db, dialect);
  // One connection holds the lock and runs the migrations: if the process dies, the server drops
  // the connection and the lock with it, so a crashed node never blocks the others.
  return db.connection().execute(async (conn) => {
    await sql`select pg_advisory_lock(${sql.lit(MIGRATION_LOCK_KEY)})`.execute(conn);
    try {
      return await runMigrator(conn, dialect);
    } finally {
      await sql`select pg_advisory_unlock(${sql.lit(MIGRATION_LOCK_KEY)})`.execute(conn).catch(() => {});
    }
  });
}

async function runMigrator(db: Kysely<any>, dialect: Dialect): Promise<string[]> {
  const migrator = new Migrator({ db, provider: new InCodeProvider(dialect) });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName);
}
