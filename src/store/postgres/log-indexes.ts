/**
 * PostgreSQL: the log's indexes as migration 0013 changed them, on the partitioned log of
 * log-partitions.ts: the new indexes made on the partitioned table and built on each partition
 * (without holding up inserts on a populated log), the replaced ones dropped once every partition
 * has the new, and the BRIN on created_at summarized before retention's boundary deletes
 * (docs/performance.md, "PostgreSQL server writes per delivery").
 */
import { sql, type Kysely } from "kysely";
import {
  DEFAULT,
  PARTITION_LOCK_TIMEOUT_MS,
  attachIndexIfLoose,
  childIndexName,
  isLockTimeout,
  lockPartitions,
  logPartitions,
  parentIndexes,
  relkind,
} from "./log-partitions.js";

/**
 * Migration 0013 (besides dropping the log's foreign key to webhooks: logEntriesFewerWrites0013):
 * two of the log's six indexes cost a b-tree insert per attempt for reads that a cheaper index
 * serves (docs/performance.md, "PostgreSQL server writes per delivery"):
 *   - created_at (retention's boundary rows, the failure metrics' recent entries) becomes a BRIN:
 *     entries arrive in time order, so a block range's min and max bound them, and an insert into a
 *     range not yet summarized writes nothing to it. A range not summarized matches every search
 *     (a scan reads all its pages), so autovacuum summarizes each range once filled
 *     (autosummarize), and retention summarizes what is left before it deletes the boundary rows
 *     (summarizeLogTimeIndexes);
 *   - (webhook_id, trigger, id) keeps only the rare triggers (test, redeliver, recover): a page of
 *     `trigger=event`, nearly every entry, walks (webhook_id, id) like the unfiltered page, and the
 *     list query writes the trigger as a literal so the planner matches the index's condition.
 */
export const LOG_INDEXES_0013 = {
  add: [
    ["log_entries_created_brin", "using brin (created_at) with (autosummarize = on)"],
    ["log_entries_webhook_rare_trigger", "(webhook_id, trigger, id) where trigger <> 'event'"],
  ] as [name: string, definition: string][],
  drop: ["log_entries_created", "log_entries_webhook_trigger"],
};

/**
 * Migration 0013, inside the migrations' transaction: the log's foreign key to webhooks goes, and
 * the new indexes (LOG_INDEXES_0013) are made on the partitioned table alone (`on only`: nothing
 * built), and each partition without rows gets its copies at once. When every partition is empty
 * (a fresh database) the replaced indexes go in the same transaction; otherwise the populated
 * partitions build theirs afterwards, without holding up inserts (completeLogIndexes), and the
 * replaced ones go once all are built. Every lock is taken
 * first, waiting at most PARTITION_LOCK_TIMEOUT_MS (migrate() runs it again on a timeout, as 0012):
 * inserts wait for this transaction, which reads no row beyond one per partition.
 */
export async function logEntriesFewerWrites0013(trx: Kysely<any>): Promise<void> {
  if ((await relkind(trx, "log_entries")) !== "p") return;
  await sql`set local lock_timeout = ${sql.lit(PARTITION_LOCK_TIMEOUT_MS)}`.execute(trx);
  // Dropping the foreign key below drops its triggers on webhooks too (a share row exclusive lock there).
  await sql`lock table webhooks in share row exclusive mode`.execute(trx);
  await sql`lock table log_entries in access exclusive mode`.execute(trx);
  await sql`set local lock_timeout = 0`.execute(trx);
  // An entry's webhook is its delivery's (deliveries reference webhooks, on delete cascade): a
  // webhook's deletion takes its deliveries and they their entries, so the log's own reference to
  // webhooks only cost a check and a row lock on the webhook per attempt logged (where the claims
  // lock the same rows: a multixact each time).
  await sql`alter table log_entries drop constraint if exists log_entries_webhook_id_fkey`.execute(trx);
  for (const [name, definition] of LOG_INDEXES_0013.add)
    await sql`create index if not exists ${sql.id(name)} on only log_entries ${sql.raw(definition)}`.execute(trx);
  for (const partition of await allPartitions(trx)) {
    const empty = (await sql`select 1 from ${sql.id(partition)} limit 1`.execute(trx)).rows.length === 0;
    if (!empty) continue;
    for (const [name, definition] of LOG_INDEXES_0013.add) {
      const child = childIndexName(name, partition);
      await sql`create index if not exists ${sql.id(child)} on ${sql.id(partition)} ${sql.raw(definition)}`.execute(trx);
      await attachIndexIfLoose(trx, name, child);
    }
  }
  await dropReplacedIndexes(trx);
}

/** Every partition of log_entries, the default included. */
async function allPartitions(db: Kysely<any>): Promise<string[]> {
  const res = await sql<{ name: string }>`
    select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
     where i.inhparent = to_regclass('log_entries') order by c.relname`.execute(db);
  return res.rows.map((r) => r.name);
}

/** Drops 0013's replaced indexes (every partition's copy with them) once its new ones are valid on every partition. */
async function dropReplacedIndexes(trx: Kysely<any>): Promise<boolean> {
  const indexes = await parentIndexes(trx);
  const complete = LOG_INDEXES_0013.add.every(([name]) => indexes.some((i) => i.name === name && i.valid));
  if (!complete) return false;
  for (const name of LOG_INDEXES_0013.drop) if (indexes.some((i) => i.name === name)) await sql`drop index ${sql.id(name)}`.execute(trx);
  return true;
}

interface MissingIndex {
  partition: string;
  parent: string;
  /** The partition's copy: the parent's name with the partition's in place of log_entries. */
  child: string;
  definition: string;
  /** Whether a copy of that name exists, left invalid (an interrupted concurrent build). */
  invalid: boolean;
}

/** The partitioned table's indexes that a partition has no copy of attached. */
async function missingPartitionIndexes(db: Kysely<any>): Promise<MissingIndex[]> {
  const res = await sql<{ partition: string; parent: string; def: string }>`
    select p.relname as partition, x.relname as parent, pg_get_indexdef(x.oid) as def
      from pg_inherits t
      join pg_class p on p.oid = t.inhrelid
      join pg_index pi on pi.indrelid = t.inhparent
      join pg_class x on x.oid = pi.indexrelid
     where t.inhparent = to_regclass('log_entries')
       and not exists (select 1 from pg_inherits ci join pg_index cx on cx.indexrelid = ci.inhrelid
                        where ci.inhparent = x.oid and cx.indrelid = p.oid)
     order by p.relname, x.relname`.execute(db);
  const out: MissingIndex[] = [];
  for (const r of res.rows) {
    const child = childIndexName(r.parent, r.partition);
    const existing = await sql<{ valid: boolean }>`select indisvalid as valid from pg_index where indexrelid = to_regclass(${child})`.execute(db);
    out.push({
      partition: r.partition,
      parent: r.parent,
      child,
      definition: r.def.slice(r.def.indexOf(" USING ")),
      invalid: existing.rows[0]?.valid === false,
    });
  }
  return out;
}

/**
 * Completes migration 0013 on a populated log (at every start, after the migrations, and at every
 * retention pass; one catalog read once done): each partition that lacks an index of the
 * partitioned table gets it, then it is attached; once every partition has them, the indexes 0013
 * replaces are dropped (a moment's exclusive lock, given up after PARTITION_LOCK_TIMEOUT_MS until
 * the next pass). On a direct connection the copies are built with CREATE INDEX CONCURRENTLY
 * (inserts and reads go on; a copy left invalid by an interrupted build is dropped and built again),
 * one node at a time (a session advisory lock: two concurrent builds on one table deadlock; the
 * other nodes leave it to that one). Behind a pooler in transaction mode a concurrent build is not
 * possible (every statement runs inside a transaction): each copy is built in a transaction of its
 * own, which holds up inserts into that partition (today's: one day's rows at most) while it builds.
 * Answers whether the replaced indexes are gone (or were never there).
 */
export async function completeLogIndexes(db: Kysely<any>, lockKey: bigint): Promise<boolean> {
  if ((await relkind(db, "log_entries")) !== "p") return true;
  try {
    if ((await missingPartitionIndexes(db)).length > 0) {
      const direct = await db.connection().execute(async (conn) => {
        // Outside a transaction block a statement is its own transaction, started with it; behind
        // a pooler in transaction mode each statement runs inside one (statements.ts).
        const alone = await sql<{ alone: boolean }>`select transaction_timestamp() = statement_timestamp() as alone`.execute(conn);
        if (!alone.rows[0].alone) return false;
        const got = await sql<{ got: boolean }>`select pg_try_advisory_lock(${sql.lit(lockKey + 1n)}) as got`.execute(conn);
        if (!got.rows[0].got) return true; // another node is building them
        try {
          await sql`set statement_timeout = 0`.execute(conn); // this session's, for the builds only
          for (const m of await missingPartitionIndexes(conn)) {
            if (m.invalid) await sql`drop index concurrently if exists ${sql.id(m.child)}`.execute(conn);
            await sql`create index concurrently if not exists ${sql.id(m.child)} on ${sql.id(m.partition)} ${sql.raw(m.definition)}`.execute(conn);
            await attachPartitionIndex(db, lockKey, m);
          }
        } finally {
          await sql`reset statement_timeout`.execute(conn);
          await sql`select pg_advisory_unlock(${sql.lit(lockKey + 1n)})`.execute(conn);
        }
        return true;
      });
      if (!direct) {
        for (const m of await missingPartitionIndexes(db)) {
          await db.transaction().execute(async (trx) => {
            await lockPartitions(trx, lockKey);
            if ((await relkind(trx, m.partition)) === null) return; // dropped by retention meanwhile
            await sql`set local statement_timeout = 0`.execute(trx);
            if (m.invalid) await sql`drop index if exists ${sql.id(m.child)}`.execute(trx);
            await sql`create index if not exists ${sql.id(m.child)} on ${sql.id(m.partition)} ${sql.raw(m.definition)}`.execute(trx);
            await attachIndexIfLoose(trx, m.parent, m.child);
          });
        }
      }
    }
    // Once done (every pass after the first), one catalog read and no transaction.
    const indexes = await parentIndexes(db);
    const done = LOG_INDEXES_0013.add.every(([name]) => indexes.some((i) => i.name === name && i.valid));
    if (done && !indexes.some((i) => LOG_INDEXES_0013.drop.includes(i.name))) return true;
    return await db.transaction().execute(async (trx) => {
      await lockPartitions(trx, lockKey);
      return dropReplacedIndexes(trx);
    });
  } catch (err) {
    if (isLockTimeout(err)) return false;
    throw err;
  }
}

async function attachPartitionIndex(db: Kysely<any>, lockKey: bigint, m: MissingIndex): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await lockPartitions(trx, lockKey);
    if ((await relkind(trx, m.partition)) === null) return; // dropped by retention meanwhile
    await attachIndexIfLoose(trx, m.parent, m.child);
  });
}

/**
 * Summarizes the block ranges of the log's BRIN on created_at (migration 0013) not summarized yet,
 * in every partition that holds rows below `cutoff`: the retention's boundary deletes find their
 * rows through it, and a range not summarized (the last rows of a day that autovacuum had not
 * reached) would make every batch read all its pages. Reads only those ranges' pages.
 */
export async function summarizeLogTimeIndexes(db: Kysely<any>, cutoff: number): Promise<void> {
  if ((await relkind(db, "log_entries")) !== "p") return;
  const below = (await logPartitions(db)).filter((p) => p.from < cutoff).map((p) => p.name);
  for (const partition of [...below, DEFAULT]) {
    const index = childIndexName(LOG_INDEXES_0013.add[0][0], partition);
    await sql`select brin_summarize_new_values(to_regclass(${index})) where to_regclass(${index}) is not null`.execute(db);
  }
}
