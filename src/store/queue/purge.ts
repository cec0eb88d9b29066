/**
 * Retention: log entries older than HOOKLINE_LOG_RETENTION_DAYS go, then finished deliveries and
 * events nothing references any more, and expired idempotency keys. Events younger than that stay
 * whether or not anything references them (recover resends them), and so do their deliveries. Each
 * statement deletes at most BATCH rows (on PostgreSQL the log's first, PG_BOUNDARY_BATCHES times as
 * many: see purgeTables) in its own short transaction, so no statement holds locks for long, and
 * several nodes purging at once only skip each other's work.
 *
 * The order matters beyond tidiness: a log entry reads its request body from its delivery's event
 * (store/logs.ts), and a delivery goes only once no log entry references it, an event only once no
 * delivery does, so every entry that is kept can still show the body it sent.
 *
 * Deliveries and events are purged in two steps per batch: the candidates come from an index range
 * scan in key order (resuming after the previous batch, so rows that must stay cannot stall the
 * purge), then one DELETE of those ids re-checks that nothing references them. Written as a single
 * `DELETE … WHERE NOT EXISTS (…) LIMIT`, PostgreSQL picks a hash anti-join that reads the whole
 * referencing table for every batch (measured: 2.7 s per 1000 deliveries against 500k log entries);
 * with the explicit id list it probes the referencing index per row (about 20 ms).
 *
 * The purge runs beside deliveries and the API, so it is paced: between batches (and so between
 * tables) it yields to the event loop and then rests for several times as long as the batch took.
 * This matters most on SQLite, whose statements run synchronously on the main thread: a purge that
 * only awaited its statements would never let a request or a delivery run until it finished. The
 * pause keeps the purge to about PURGE_SHARE of the wall time on either store, and each SQLite batch
 * is small so that no single statement holds the thread for long (docs/performance.md, log_scale).
 */
import { SqliteAdapter, sql, type Kysely } from "kysely";
import type { Database, DeliveryStatus } from "../schema.js";
import { deleteLogEntriesBefore } from "../logs.js";
import { isSqlite } from "../fixed-statement.js";
import { MIGRATION_LOCK_KEY } from "../migrations.js";
import { dropExpiredLogPartitions, ensureLogPartitions } from "../postgres/log-partitions.js";
import { completeLogIndexes, summarizeLogTimeIndexes } from "../postgres/log-indexes.js";

const DEFAULT_BATCH = 1000;
/** SQLite's deletes block the thread (index maintenance on log_entries is most of it): smaller steps. */
const SQLITE_BATCH = 250;
/** PostgreSQL: the log's first boundary statement deletes up to this many batches' rows at once (see purgeTables). */
const PG_BOUNDARY_BATCHES = 10;
/** The share of wall time the purge may take; the rest is left to deliveries and the API. */
const PURGE_SHARE = 0.15;
const DAY = 24 * 3600 * 1000;
const FINISHED: DeliveryStatus[] = ["succeeded", "failed", "cancelled"];

type Db = Kysely<Database>;

export interface PurgeResult {
  logEntries: number;
  deliveries: number;
  events: number;
  idempotencyKeys: number;
}

interface Cursor {
  at: number;
  id: string;
}

export interface PurgeOptions {
  now: number;
  logRetentionDays: number;
  /** Rows per statement; defaults to 1000 (PostgreSQL) or 250 (SQLite). */
  batch?: number;
  /** Share of wall time the purge may take (0 < share ≤ 1; 1 only yields between batches). */
  share?: number;
  /** Ends the purge between two batches (node shutdown); the result counts what went so far. */
  signal?: AbortSignal;
  /** Told each step's name and wall time (ms, its pauses included) as it ends: the bench's breakdown of a pass. */
  onStep?: (step: string, ms: number) => void;
}

/** Deletes what retention allows, at most `maxBatches` statements per table (default: a million rows). */
export async function purgeOld(db: Db, opts: PurgeOptions, maxBatches?: number): Promise<PurgeResult> {
  const result: PurgeResult = { logEntries: 0, deliveries: 0, events: 0, idempotencyKeys: 0 };
  const batch = opts.batch ?? (db.getExecutor().adapter instanceof SqliteAdapter ? SQLITE_BATCH : DEFAULT_BATCH);
  try {
    await purgeTables(db, opts, result, batch, maxBatches ?? Math.ceil(1_000_000 / batch));
  } catch (err) {
    if (!(err instanceof PurgeStopped)) throw err;
  }
  return result;
}

class PurgeStopped extends Error {}

async function purgeTables(db: Db, opts: PurgeOptions, result: PurgeResult, BATCH: number, maxBatches: number): Promise<void> {
  const now = opts.now;
  const cutoff = now - opts.logRetentionDays * DAY;
  const pace = pacer(opts.share ?? PURGE_SHARE, opts.signal, isSqlite(db));
  const timed = async <T>(step: string, run: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await run();
    } finally {
      opts.onStep?.(step, performance.now() - t0);
    }
  };
  // Each stage adds to `result` batch by batch, so that a purge stopped partway counts what went.
  const keysetBatches = (page: (after: Cursor | null) => Promise<Cursor[]>, remove: (ids: string[]) => Promise<number>, count: (n: number) => void) =>
    pagedDeletes(maxBatches, BATCH, pace, page, remove, count);

  // A rotated-out secret is forgotten once its overlap is over (until then it is only ignored).
  await timed("secrets", () =>
    db.updateTable("webhooks").set({ previous_secret: null, previous_secret_expires_at: null }).where("previous_secret_expires_at", "<=", now).execute(),
  );

  // PostgreSQL's log is partitioned by day (store/postgres/log-partitions.ts): the partitions of the
  // next days are made ahead, and every day wholly before the cutoff goes at once, partition and
  // rollups together. What is left below the cutoff (the boundary day's first hours, and entries
  // outside any day partition) goes below, as deletes. Not paced: each change is a few
  // milliseconds' transaction whose locks are given up after a moment if not granted.
  if (!isSqlite(db)) {
    await timed("ensure_partitions", () => ensureLogPartitions(db, now, MIGRATION_LOCK_KEY));
    result.logEntries += await timed("drop_partitions", () => dropExpiredLogPartitions(db, cutoff, MIGRATION_LOCK_KEY));
    // Migration 0013's indexes on partitions that a start could not finish (nothing to do once done).
    await timed("complete_indexes", () => completeLogIndexes(db, MIGRATION_LOCK_KEY));
    // The boundary rows below are found through each partition's BRIN on created_at: its last ranges summarized first.
    await timed("summarize", () => summarizeLogTimeIndexes(db, cutoff));
  }

  // Log entries reference nothing that must stay: delete the old ones outright, a batch at a time
  // (each batch takes its entries out of the hourly rollups in the same transaction).
  await timed("boundary_deletes", async () => {
    let more = true;
    if (!isSqlite(db)) {
      // PostgreSQL: what an hourly pass finds below the cutoff once the whole days are gone (the hour
      // since the previous pass: a few thousand rows at a million entries) goes in one statement,
      // not paced, like the drops: the server does the work, the process only waits, and each batch
      // of 1000 would read the same block ranges of the BRIN again (a range is not narrowed by
      // deletes). Only a larger backlog (a log migrated with its old rows, a node stopped for
      // hours) goes on in paced batches (docs/performance.md, "The purge pass at 1,000,000 entries").
      const limit = BATCH * PG_BOUNDARY_BATCHES;
      const deleted = await timed("boundary_statements", () => deleteLogEntriesBefore(db, cutoff, limit));
      result.logEntries += deleted;
      more = deleted === limit;
    }
    for (let i = 0; more && i < maxBatches; i++) {
      const deleted = await pace(() => timed("boundary_statements", () => deleteLogEntriesBefore(db, cutoff, BATCH)));
      result.logEntries += deleted;
      more = deleted === BATCH;
    }
  });

  for (const status of FINISHED) {
    await timed(`deliveries_${status}`, () =>
      keysetBatches(
        (after) =>
          db
            .selectFrom("deliveries")
            .select(["id", "updated_at as at"])
            .where("status", "=", status) // index deliveries_finished (status, updated_at), finished rows only:
            .where(sql<boolean>`status <> 'pending'`) // its condition, written out so that SQLite uses it
            .where("updated_at", "<", cutoff)
            .$if(after !== null, (q) =>
              q.where("updated_at", ">=", after!.at).where((eb) => eb.or([eb("updated_at", ">", after!.at), eb("id", ">", after!.id)])),
            )
            .orderBy("updated_at")
            .orderBy("id")
            .limit(BATCH)
            .execute(),
        (ids) => deleteUnreferenced(db, "deliveries", ids),
        (n) => (result.deliveries += n),
      ),
    );
  }

  await timed("events", () =>
    keysetBatches(
      (after) =>
        db
          .selectFrom("events")
          .select(["id", "created_at as at"])
          .where("created_at", "<", cutoff) // index events_created
          .$if(after !== null, (q) => q.where("created_at", ">=", after!.at).where((eb) => eb.or([eb("created_at", ">", after!.at), eb("id", ">", after!.id)])))
          .orderBy("created_at")
          .orderBy("id")
          .limit(BATCH)
          .execute(),
      (ids) => deleteUnreferenced(db, "events", ids),
      (n) => (result.events += n),
    ),
  );

  // Keys answer repeats for 24 h; a busy publisher makes millions a day, so these go in batches too.
  const keysBefore = now - DAY;
  await timed("idempotency_keys", async () => {
    for (let i = 0; i < maxBatches; i++) {
      const res = await pace(() =>
        db
          .deleteFrom("idempotency_keys")
          .where("created_at", "<", keysBefore)
          .where((eb) =>
            eb(
              eb.refTuple("project_id", "key"),
              "in",
              eb.selectFrom("idempotency_keys").select(["project_id", "key"]).where("created_at", "<", keysBefore).limit(BATCH).$asTuple("project_id", "key"),
            ),
          )
          .executeTakeFirst(),
      );
      result.idempotencyKeys += Number(res.numDeletedRows);
      if (Number(res.numDeletedRows) < BATCH) break;
    }
  });
}

type Pace = <T>(step: () => Promise<T>) => Promise<T>;

/**
 * Runs each step after the previous one's pause: a turn of the event loop (timers and I/O first),
 * then a rest of `(1 - share) / share` times the previous step's duration. With `restAfterNothing`
 * false (PostgreSQL), a step that found nothing (an empty page, no row deleted) earns no rest: its
 * work was an index probe in the server, and the pass's stages that find nothing (most hours: no
 * delivery or event expired since the previous pass) would otherwise add several times their own
 * time in pauses (docs/performance.md, "The purge pass at 1,000,000 entries").
 */
function pacer(share: number, signal?: AbortSignal, restAfterNothing = true): Pace {
  const restPerMs = share >= 1 ? 0 : (1 - share) / Math.max(share, 0.01);
  let rest = 0;
  return async (step) => {
    if (rest > 0) await new Promise((resolve) => setTimeout(resolve, rest));
    else await new Promise((resolve) => setImmediate(resolve));
    if (signal?.aborted) throw new PurgeStopped();
    const t0 = performance.now();
    let found = true;
    try {
      const out = await step();
      found = !foundNothing(out);
      return out;
    } finally {
      rest = found || restAfterNothing ? Math.min(2000, (performance.now() - t0) * restPerMs) : 0;
    }
  };
}

/** Whether a step's result is an empty page, a count of 0 or a statement that deleted no row. */
function foundNothing(out: unknown): boolean {
  if (Array.isArray(out)) return out.length === 0;
  if (typeof out === "number") return out === 0;
  if (out !== null && typeof out === "object" && "numDeletedRows" in out) return Number(out.numDeletedRows) === 0;
  return false;
}

/** Pages through candidates in key order and deletes each page, counting each page's deleted rows as it goes. */
async function pagedDeletes(
  maxBatches: number,
  batch: number,
  pace: Pace,
  page: (after: Cursor | null) => Promise<Cursor[]>,
  remove: (ids: string[]) => Promise<number>,
  count: (n: number) => void,
): Promise<void> {
  let after: Cursor | null = null;
  for (let i = 0; i < maxBatches; i++) {
    const rows = await pace(() => page(after));
    if (rows.length === 0) break;
    count(await pace(() => remove(rows.map((r) => r.id))));
    if (rows.length < batch) break;
    const last = rows[rows.length - 1];
    after = { at: Number(last.at), id: last.id };
  }
}

/**
 * Deletes the given finished deliveries that no log entry references, or the given events that no
 * delivery references (a log entry written or a redelivery queued since the candidates were read
 * keeps its row).
 */
async function deleteUnreferenced(db: Db, table: "deliveries" | "events", ids: string[]): Promise<number> {
  const res =
    table === "deliveries"
      ? await db
          .deleteFrom("deliveries as d")
          .where("d.id", "in", ids)
          .where("d.status", "!=", "pending")
          .where(({ not, exists, selectFrom }) =>
            not(
              exists(
                selectFrom("log_entries as l")
                  .select(sql`1`.as("one"))
                  .whereRef("l.delivery_id", "=", "d.id"),
              ),
            ),
          )
          .executeTakeFirst()
      : await db
          .deleteFrom("events as e")
          .where("e.id", "in", ids)
          .where(({ not, exists, selectFrom }) =>
            not(
              exists(
                selectFrom("deliveries as d")
                  .select(sql`1`.as("one"))
                  .whereRef("d.event_id", "=", "e.id"),
              ),
            ),
          )
          .executeTakeFirst();
  return Number(res.numDeletedRows);
}
