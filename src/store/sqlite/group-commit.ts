/**
 * SQLite group commit: write transactions that arrive together share one SQLite transaction, so
 * they share one WAL commit. A commit appends every page the transaction touched, and one publish
 * touches about twenty (the event and delivery rows and each index on them); sixteen publishes in
 * one commit write a small fraction of the pages sixteen commits write. Each caller's work runs in
 * its own savepoint: a failure rolls back and rejects only that work, and every caller's promise
 * settles only after the shared commit, so a resolved call is durable like its own transaction.
 */
import type { Kysely, Transaction } from "kysely";
import type { Database } from "../schema.js";
import { runDirectly, type SqlitePrepare } from "../fixed-statement.js";
import { CoalescedRun } from "../../lib/coalesced-run.js";

type Work = (trx: Transaction<Database>) => Promise<unknown>;

interface Job {
  work: Work;
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

/** Works per shared transaction; the rest wait for the next one. */
const MAX_BATCH = 64;

export class GroupCommit {
  private queue: Job[] = [];
  /** Works queued in the same turn of the event loop share a drain; it takes what arrives while it runs too. */
  private readonly drains = new CoalescedRun(() => this.drain(), { start: "soon" });

  constructor(
    private readonly db: Kysely<Database>,
    /** The connection's prepared statements: the transaction's own statements and the works' fixed ones run on them directly. */
    private readonly prepare: SqlitePrepare,
  ) {}

  /** Runs `work` in a transaction shared with the works queued in the same turn of the event loop. */
  run<T>(work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (v: unknown) => void, reject });
      void this.drains.request();
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) await this.commit(this.queue.splice(0, MAX_BATCH));
  }

  /**
   * One transaction, begun IMMEDIATE: it holds SQLite's write lock from its first statement, so
   * what it reads stays true until it commits, even with other processes (a separate `hookline
   * worker`) on the same file. The delivery claim relies on it: it counts live leases, then leases.
   */
  private async commit(batch: Job[]): Promise<void> {
    const outcomes: { ok: boolean; value: unknown }[] = [];
    const run = (text: string) => this.prepare(text).run([]);
    try {
      // Holding the connection keeps Kysely's other queries off it until the commit.
      await this.db.connection().execute(async (conn) => {
        const trx = conn as unknown as Transaction<Database>;
        runDirectly(conn, this.prepare);
        run("begin immediate");
        try {
          for (const job of batch) {
            run("savepoint work");
            try {
              outcomes.push({ ok: true, value: await job.work(trx) });
              run("release work");
            } catch (err) {
              try {
                run("rollback to work");
                run("release work");
              } catch {
                // SQLITE_FULL, IOERR and the like may roll the whole transaction back, savepoint and
                // all: every work of the batch then fails with that cause, not "no such savepoint".
                throw err;
              }
              outcomes.push({ ok: false, value: err });
            }
          }
          run("commit");
        } catch (err) {
          try {
            run("rollback");
          } catch {
            // Already rolled back (SQLITE_FULL and the like end the transaction themselves).
          }
          throw err;
        }
      });
    } catch (err) {
      // The shared transaction itself failed (e.g. the database is locked or gone): nothing was stored.
      for (const job of batch) job.reject(err);
      return;
    }
    batch.forEach((job, i) => (outcomes[i].ok ? job.resolve(outcomes[i].value) : job.reject(outcomes[i].value)));
  }
}
