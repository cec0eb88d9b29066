/**
 * Collects finished attempts and writes them in batches (one transaction per batch instead of one
 * per attempt). If the database is briefly unreachable, outcomes wait in memory and are written
 * when it is back; an outcome lost with a crash only means the attempt is made again (at-least-once).
 */
import type { Context } from "../services/context.js";
import type { Metrics } from "./metrics.js";
import { recordOutcomes, type Outcome } from "./record-outcomes.js";
import { cancelLeased } from "../store/queue/cancel.js";
import { announceCancelled } from "../services/webhook-disable.js";
import { Backoff } from "../lib/backoff.js";

const MAX_BATCH = 200;
/**
 * Batches written at once. On PostgreSQL a batch is a statement and its commit (or a transaction of
 * several round trips: record-claimed.ts says when); outcomes that arrive meanwhile no longer wait
 * for it to finish (their slots stay taken until they are stored).
 * On SQLite concurrent batches share the group commit.
 */
const LANES = 3;

export class OutcomeRecorder {
  private queue: { outcome: Outcome; done: () => void }[] = [];
  private lanes = 0;
  private drained: Promise<void> | null = null;
  private onDrained: (() => void) | null = null;

  constructor(
    private readonly ctx: Context,
    private readonly metrics: Metrics,
    private readonly onDisabled: () => void,
  ) {}

  /** Resolves once the outcome is stored. */
  record(outcome: Outcome): Promise<void> {
    return new Promise((resolve) => {
      this.queue.push({ outcome, done: resolve });
      if (this.lanes < LANES) void this.drain();
    });
  }

  /** An event delivery whose webhook was disabled before its attempt: cancelled, nothing sent. */
  async cancel(deliveryId: string, leaseToken: string): Promise<void> {
    announceCancelled(this.ctx, await cancelLeased(this.ctx.store.db, deliveryId, leaseToken, this.ctx.now()));
  }

  /** Resolves once every outcome handed over so far is stored. */
  async flush(): Promise<void> {
    while (this.drained) await this.drained;
  }

  private async drain(): Promise<void> {
    if (this.lanes++ === 0) this.drained = new Promise((resolve) => (this.onDrained = resolve));
    const backoff = new Backoff({ minMs: 100, maxMs: 5_000 });
    try {
      while (this.queue.length > 0) {
        // Let attempts finishing in the same tick join this batch.
        await new Promise((r) => setImmediate(r));
        // Taken off the queue at once, so that another lane writes what arrives meanwhile.
        const batch = this.queue.splice(0, MAX_BATCH);
        if (batch.length === 0) break;
        try {
          const disabled = await recordOutcomes(
            this.ctx,
            this.metrics,
            batch.map((b) => b.outcome),
          );
          for (const b of batch) b.done();
          backoff.reset();
          if (disabled > 0) this.onDisabled();
        } catch (err) {
          this.queue.unshift(...batch);
          this.ctx.log.warn({ err: { message: (err as Error).message, code: (err as { code?: string }).code } }, "recording attempts failed; retrying");
          await backoff.waitAfterFailure();
        }
      }
    } finally {
      if (--this.lanes === 0) {
        this.drained = null;
        this.onDrained?.();
      }
    }
  }
}
