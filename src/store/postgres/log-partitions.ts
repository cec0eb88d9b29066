/**
 * PostgreSQL: the delivery log partitioned by day (UTC) on created_at (migration 0012), so that
 * retention drops whole expired days instead of deleting their rows one by one
 * (docs/scaling.md, "Retention on PostgreSQL").
 *
 * Partitions of log_entries:
 *   - log_entries_pYYYYMMDD: one UTC day [00:00, 24:00), each with its own primary key (id): a
 *     primary key of the partitioned table would have to include created_at, and ids are unique
 *     anyway (time-sorted monotonic ULIDs);
 *   - log_entries_before: the entries logged before the migration (the table as it was, attached
 *     as it stands), everything below the first day partition; absent on a database migrated empty;
 *   - log_entries_default: the safety net for a created_at no day partition covers (a clock far
 *     ahead, or behind every day kept): an insert never fails for a missing partition.
 * Day partitions are created AHEAD_DAYS ahead, at every start (migrate) and by every retention pass
 * (hourly), so the default normally stays empty. A day whose range already has rows in the default
 * is not created (attaching it would have to move them): those rows stay there and retention deletes
 * them in batches like any boundary row.
 *
 * Every change to the partitions runs in a short transaction under the migration's advisory lock,
 * so two nodes never create or drop the same partition at once, with a short lock timeout: a drop
 * or an attach that would queue behind a long reader (and make every insert queue behind it) gives
 * up and is tried again at the next pass. All of it is plain statements in transactions, so it runs
 * the same through a pooler in transaction mode.
 */
import { sql, type Kysely, type RawBuilder, type Transaction } from "kysely";

export const DAY = 24 * 3600 * 1000;
/** Days after today that have their partition at every pass. */
export const AHEAD_DAYS = 3;
/** How long a partition change waits for a table lock before giving up until the next pass. */
export const PARTITION_LOCK_TIMEOUT_MS = 200;

const BEFORE = "log_entries_before";
export const DEFAULT = "log_entries_default";
/** The check constraint that proves every row of the old table lies below a bound (migration 0012's first step). */
const BOUND_CHECK = "log_entries_created_before";

/**
 * The log's indexes as migration 0012 made them on the partitioned table (those of migrations 0001,
 * 0005, 0007, 0011). Migration 0013 replaces two of them (LOG_INDEXES_0013 in log-indexes.ts); a
 * partition is made with whatever indexes the partitioned table has (createPartition).
 */
const INDEXES_0012: [name: string, definition: string][] = [
  ["log_entries_webhook", "(webhook_id, id)"],
  ["log_entries_delivery", "(delivery_id)"],
  ["log_entries_created", "(created_at)"],
  ["log_entries_webhook_status", "(webhook_id, status_code, id)"],
  ["log_entries_webhook_trigger", "(webhook_id, trigger, id)"],
  ["log_entries_webhook_failed", "(webhook_id, id) where success = 0"],
];

export const startOfDay = (ms: number) => ms - (((ms % DAY) + DAY) % DAY);

export const dayPartitionName = (dayStart: number) => `log_entries_p${new Date(dayStart).toISOString().slice(0, 10).replaceAll("-", "")}`;

export interface LogPartition {
  name: string;
  /** Lower bound, inclusive (-Infinity: MINVALUE). */
  from: number;
  /** Upper bound, exclusive. */
  to: number;
}

export async function relkind(db: Kysely<any>, table: string): Promise<string | null> {
  const res = await sql<{ relkind: string | null }>`select (select relkind::text from pg_class where oid = to_regclass(${table})) as relkind`.execute(db);
  return res.rows[0]?.relkind ?? null;
}

/** The range partitions of log_entries (the default left out), oldest first. */
export async function logPartitions(db: Kysely<any>): Promise<LogPartition[]> {
  const res = await sql<{ name: string; bound: string }>`
    select c.relname as name, pg_get_expr(c.relpartbound, c.oid) as bound
      from pg_inherits i join pg_class c on c.oid = i.inhrelid
     where i.inhparent = to_regclass('log_entries')`.execute(db);
  const out: LogPartition[] = [];
  for (const r of res.rows) {
    const m = /FROM \((.+?)\) TO \((.+?)\)/.exec(r.bound);
    if (!m) continue; // DEFAULT
    const value = (v: string) => (v === "MINVALUE" ? -Infinity : v === "MAXVALUE" ? Infinity : Number(v.replaceAll("'", "")));
    out.push({ name: r.name, from: value(m[1]), to: value(m[2]) });
  }
  return out.sort((a, b) => a.from - b.from);
}

/** The advisory lock of migrations.ts: partition changes take turns with each other and with migrations. */
export async function lockPartitions(trx: Transaction<any>, lockKey: bigint, waitForOthers = false): Promise<void> {
  if (waitForOthers) await sql`set local lock_timeout = 0`.execute(trx);
  else await sql`set local lock_timeout = ${sql.lit(PARTITION_LOCK_TIMEOUT_MS)}`.execute(trx);
  await sql`select pg_advisory_xact_lock(${sql.lit(lockKey)})`.execute(trx);
  if (waitForOthers) await sql`set local lock_timeout = ${sql.lit(PARTITION_LOCK_TIMEOUT_MS)}`.execute(trx);
}

/** A lock not granted within lock_timeout (55P03), or a deadlock PostgreSQL broke (40P01): worth another try. */
export const isLockTimeout = (err: unknown) => ["55P03", "40P01"].includes((err as { code?: string }).code ?? "");

/**
 * The first step of migration 0012, outside its transaction, on a log that already has rows: a
 * check constraint `created_at < bound` added NOT VALID (a moment's lock) and then validated (a
 * scan that lets inserts and reads go on), so that the migration's own transaction attaches the
 * table as a partition without scanning it under its lock. The bound is two days after today (or
 * the day after the newest entry), so the rows logged meanwhile by nodes still running satisfy it.
 * Idempotent; several nodes may run it at once (they take turns on the advisory lock for the add).
 */
export async function prepareLogPartitioning(db: Kysely<any>, now: number, lockKey: bigint): Promise<void> {
  if ((await relkind(db, "log_entries")) !== "r") return; // fresh database (0001 not run yet) or done
  for (let tries = 0; ; tries++) {
    try {
      const added = await db.transaction().execute(async (trx) => {
        await lockPartitions(trx, lockKey, true);
        if ((await relkind(trx, "log_entries")) !== "r") return false;
        const existing = await boundCheck(trx);
        if (existing && existing.bound >= startOfDay(now) + DAY) return existing.valid ? false : true;
        if (existing) await sql`alter table log_entries drop constraint ${sql.id(BOUND_CHECK)}`.execute(trx); // stale: a failed run days ago
        const newest = await sql<{ at: number | null }>`select max(created_at) as at from log_entries`.execute(trx);
        if (newest.rows[0]?.at === null) return false; // empty: the migration replaces the table outright
        await addBoundCheck(trx, now, Number(newest.rows[0].at));
        return true;
      });
      if (added) {
        await db.transaction().execute(async (trx) => {
          await sql`set local statement_timeout = 0`.execute(trx);
          await sql`alter table log_entries validate constraint ${sql.id(BOUND_CHECK)}`.execute(trx);
        });
      }
      return;
    } catch (err) {
      if (!isLockTimeout(err) || tries >= 50) throw err;
    }
  }
}

/** Undoes prepareLogPartitioning when the migration failed, so that no bound can stop inserts days later. */
export async function abandonLogPartitioning(db: Kysely<any>): Promise<void> {
  if ((await relkind(db, "log_entries")) !== "r") return;
  await sql`alter table log_entries drop constraint if exists ${sql.id(BOUND_CHECK)}`.execute(db);
}

async function boundCheck(db: Kysely<any>): Promise<{ bound: number; valid: boolean } | null> {
  const res = await sql<{ def: string; valid: boolean }>`
    select pg_get_constraintdef(oid) as def, convalidated as valid from pg_constraint
     where conrelid = to_regclass('log_entries') and conname = ${BOUND_CHECK}`.execute(db);
  const row = res.rows[0];
  const m = row && /(\d{10,})/.exec(row.def);
  return m ? { bound: Number(m[1]), valid: row.valid } : null;
}

async function addBoundCheck(trx: Kysely<any>, now: number, newest: number): Promise<number> {
  const bound = Math.max(startOfDay(now) + 2 * DAY, startOfDay(newest) + DAY);
  await sql`alter table log_entries add constraint ${sql.id(BOUND_CHECK)} check (created_at < ${sql.lit(bound)}) not valid`.execute(trx);
  return bound;
}

/**
 * Migration 0012, inside the migrations' transaction: log_entries becomes a table partitioned by
 * created_at. An empty log is replaced; a populated one is renamed log_entries_before and attached
 * below the first day (its indexes and foreign keys match the new table's, so none is built and no
 * row is read: the check constraint validated by prepareLogPartitioning proves the bound).
 */
export async function partitionLogEntries(trx: Kysely<any>, now: number): Promise<void> {
  if ((await relkind(trx, "log_entries")) !== "r") return;
  // The attach below takes the log's foreign keys over, which drops the old table's own triggers on
  // the tables they reference: an access exclusive lock on those. Take every lock first, waiting at
  // most PARTITION_LOCK_TIMEOUT_MS for each: deliveries' recordings and claims lock these tables in
  // orders of their own, and waiting without limit (or upgrading a lock midway) deadlocked with
  // one of them (measured: the recording was rolled back after deadlock_timeout, a second's stall).
  // On a timeout the migration gives way and migrate() runs it again. Once the locks are held,
  // publishes, claims and recordings wait for this transaction: tens of milliseconds, nothing in it
  // reads the log's rows.
  await sql`set local lock_timeout = ${sql.lit(PARTITION_LOCK_TIMEOUT_MS)}`.execute(trx);
  await sql`lock table deliveries, webhooks in access exclusive mode`.execute(trx);
  await sql`lock table log_entries in access exclusive mode`.execute(trx);
  await sql`set local lock_timeout = 0`.execute(trx);
  const newest = (await sql<{ at: number | null }>`select max(created_at) as at from log_entries`.execute(trx)).rows[0]?.at ?? null;
  let bound: number | null = null;
  if (newest !== null) {
    const check = await boundCheck(trx);
    if (check && check.valid && check.bound > Number(newest)) bound = check.bound;
    else {
      // Not prepared (a small log, or one migrated by an earlier version of this code): validate here, under the lock.
      if (check) await sql`alter table log_entries drop constraint ${sql.id(BOUND_CHECK)}`.execute(trx);
      bound = await addBoundCheck(trx, now, Number(newest));
      await sql`alter table log_entries validate constraint ${sql.id(BOUND_CHECK)}`.execute(trx);
    }
    for (const [name] of INDEXES_0012) await sql`alter index if exists ${sql.id(name)} rename to ${sql.id(name.replace("log_entries", BEFORE))}`.execute(trx);
    await sql`alter table log_entries rename constraint log_entries_pkey to ${sql.id(`${BEFORE}_pkey`)}`.execute(trx);
    await sql`alter table log_entries rename to ${sql.id(BEFORE)}`.execute(trx);
    await sql`create table log_entries (like ${sql.id(BEFORE)} including defaults) partition by range (created_at)`.execute(trx);
  } else {
    await sql`create table log_entries_new (like log_entries including defaults) partition by range (created_at)`.execute(trx);
    await sql`drop table log_entries`.execute(trx);
    await sql`alter table log_entries_new rename to log_entries`.execute(trx);
  }
  // The same foreign keys as 0001 (a webhook's or a delivery's deletion takes its entries; 0013 drops the first).
  await sql`alter table log_entries add constraint log_entries_webhook_id_fkey foreign key (webhook_id) references webhooks (id) on delete cascade`.execute(
    trx,
  );
  await sql`alter table log_entries add constraint log_entries_delivery_id_fkey foreign key (delivery_id) references deliveries (id) on delete cascade`.execute(
    trx,
  );
  for (const [name, definition] of INDEXES_0012) await sql`create index ${sql.id(name)} on log_entries ${sql.raw(definition)}`.execute(trx);
  if (bound !== null) await sql`alter table log_entries attach partition ${sql.id(BEFORE)} for values from (minvalue) to (${sql.lit(bound)})`.execute(trx);
  await createPartition(trx, DEFAULT, sql`default`);
  await createDayPartitions(trx, now);
}

/**
 * Makes a partition apart, with the partitioned table's indexes named after it
 * (log_entries_p20261207_webhook_failed: plans say which day they read), and attaches it: an attach
 * locks the partitioned table less than `create … partition of`, and finds the indexes it needs
 * already there. Day partitions have a primary key (id) of their own; the default does not (ids in
 * it may repeat none the less: none do).
 */
async function createPartition(trx: Kysely<any>, name: string, bound: RawBuilder<unknown>): Promise<void> {
  const primaryKey = name === DEFAULT ? sql`` : sql`, primary key (id)`;
  await sql`create table ${sql.id(name)} (like log_entries including defaults${primaryKey})`.execute(trx);
  for (const index of await parentIndexes(trx))
    await sql`create index ${sql.id(childIndexName(index.name, name))} on ${sql.id(name)} ${sql.raw(index.definition)}`.execute(trx);
  await sql`alter table log_entries attach partition ${sql.id(name)} ${bound}`.execute(trx);
  // An index of the partitioned table that is not valid yet (0013's, while partitions made before
  // it still build theirs) is not attached by the attach: attach this partition's copy now.
  for (const index of await parentIndexes(trx)) {
    if (!index.valid) await attachIndexIfLoose(trx, index.name, childIndexName(index.name, name));
  }
}

export const childIndexName = (parentIndex: string, partition: string) => parentIndex.replace("log_entries", partition);

export interface ParentIndex {
  name: string;
  /** What follows the table in its CREATE INDEX: `using btree (webhook_id, id) where (success = 0)`. */
  definition: string;
  valid: boolean;
}

/** The partitioned table's own indexes (the primary keys are each partition's, not the table's). */
export async function parentIndexes(db: Kysely<any>): Promise<ParentIndex[]> {
  const res = await sql<{ name: string; def: string; valid: boolean }>`
    select c.relname as name, pg_get_indexdef(i.indexrelid) as def, i.indisvalid as valid
      from pg_index i join pg_class c on c.oid = i.indexrelid
     where i.indrelid = to_regclass('log_entries') order by c.relname`.execute(db);
  return res.rows.map((r) => ({ name: r.name, definition: r.def.slice(r.def.indexOf(" USING ")), valid: r.valid }));
}

/** Attaches a partition's index to the partitioned table's when it is not attached to it yet. */
export async function attachIndexIfLoose(trx: Kysely<any>, parentIndex: string, childIndex: string): Promise<void> {
  const res = await sql<{ attached: boolean }>`
    select exists (select 1 from pg_inherits where inhrelid = to_regclass(${childIndex}) and inhparent = to_regclass(${parentIndex})) as attached`.execute(trx);
  if (!res.rows[0].attached) await sql`alter index ${sql.id(parentIndex)} attach partition ${sql.id(childIndex)}`.execute(trx);
}

/** Creates the partitions of the days from today to AHEAD_DAYS ahead that no partition covers yet. */
async function createDayPartitions(trx: Kysely<any>, now: number): Promise<number> {
  const existing = await logPartitions(trx);
  let created = 0;
  for (let day = startOfDay(now), last = startOfDay(now) + AHEAD_DAYS * DAY; day <= last; day += DAY) {
    const end = day + DAY;
    if (existing.some((p) => p.from < end && p.to > day)) continue;
    // No insert may land in the default between this look and the attach (which locks it anyway).
    await sql`lock table ${sql.id(DEFAULT)} in exclusive mode`.execute(trx);
    const strays = await sql`select 1 from ${sql.id(DEFAULT)} where created_at >= ${day} and created_at < ${end} limit 1`.execute(trx);
    if (strays.rows.length > 0) continue; // see the header: those rows stay in the default
    const name = dayPartitionName(day);
    await createPartition(trx, name, sql`for values from (${sql.lit(day)}) to (${sql.lit(end)})`);
    created++;
  }
  return created;
}

/**
 * Creates the partitions of today and the next AHEAD_DAYS days that are missing (at start, and by
 * every retention pass); nothing when the log is not partitioned. Answers how many it created; a
 * lock it could not get soon leaves the rest to the next pass (the default partition takes the
 * entries meanwhile).
 */
export async function ensureLogPartitions(db: Kysely<any>, now: number, lockKey: bigint): Promise<number> {
  if ((await relkind(db, "log_entries")) !== "p") return 0;
  try {
    return await db.transaction().execute(async (trx) => {
      await lockPartitions(trx, lockKey);
      return createDayPartitions(trx, now);
    });
  } catch (err) {
    if (isLockTimeout(err)) return 0;
    throw err;
  }
}

/**
 * Drops every partition whose whole range lies before `cutoff`, oldest first, each in its own
 * transaction with its entries' hourly rollups (a partition holds whole UTC hours, so the rollup
 * rows of its hours are exactly its entries'). Answers how many entries went (counted from those
 * rollups). A partition whose lock is not granted soon stays until the next pass.
 */
export async function dropExpiredLogPartitions(db: Kysely<any>, cutoff: number, lockKey: bigint): Promise<number> {
  if ((await relkind(db, "log_entries")) !== "p") return 0;
  let dropped = 0;
  for (const p of await logPartitions(db)) {
    if (p.to > cutoff) break;
    try {
      dropped += await db.transaction().execute(async (trx) => {
        await lockPartitions(trx, lockKey);
        if ((await relkind(trx, p.name)) === null) return 0; // another node dropped it
        const gone = await sql<{ n: string | number | null }>`
          with r as (delete from log_hourly_rollups where hour_start < ${p.to}
                     ${p.from === -Infinity ? sql`` : sql`and hour_start >= ${p.from}`} returning succeeded + failed as n)
          select sum(n) as n from r`.execute(trx);
        await sql`drop table ${sql.id(p.name)}`.execute(trx);
        return Number(gone.rows[0]?.n ?? 0);
      });
    } catch (err) {
      if (isLockTimeout(err)) break;
      throw err;
    }
  }
  return dropped;
}
