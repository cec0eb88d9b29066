/**
 * Collects finished attempts and writes them in batches (one transaction per batch instead of one
 * per attempt). If the database is briefly unreachable, outcomes wait in memory and are written
 * when it is back; an outcome lost with a crash only means the attempt is made again (at-least-once).
 */
import type { Context } from "../services/context.js";
import type { Metrics } from "./metrics.js";
import { recordOutcomes, type Outcome } from "./record-outcomes.js";

const MAX_BATCH = 200;

export class OutcomeRecorder {
  private queue: { outcome: Outcome; done: () => void }[] = [];
  private flushing: Promise<void> | null = null;

  constructor(
    private readonly ctx: Context,
    private readonly metrics: Metrics,
    private readonly onDisabled: () => void,
  ) {}

  /** Resolves once the outcome is stored. */
  record(outcome: Outcome): Promise<void> {
    return new Promise((resolve) => {
      this.queue.push({ outcome, done: resolve });
      if (!this.flushing) this.flushing = this.drain();
    });
  }

  /** An event delivery whose webhook was disabled before its attempt: cancelled, nothing sent. */
  async cancel(deliveryId: string, leaseToken: string): Promise<void> {
    await this.ctx.store.db
      .updateTable("deliveries")
      .set({ status: "cancelled", lease_token: null, updated_at: this.ctx.now() })
      .where("id", "=", deliveryId)
      .where("lease_token", "=", leaseToken)
      .where("status", "=", "pending")
      .execute();
    this.metrics.deliveries.inc({ outcome: "cancelled", trigger: "event" });
  }

  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  private async drain(): Promise<void> {
    let backoff = 100;
    try {
      while (this.queue.length > 0) {
        // Let attempts finishing in the same tick join this batch.
        await new Promise((r) => setImmediate(r));
        const batch = this.queue.slice(0, MAX_BATCH);
        try {
          const summary = await recordOutcomes(this.ctx, this.metrics, batch.map((b) => b.outcome));
          this.queue.splice(0, batch.length);
          for (const b of batch) b.done();
          backoff = 100;
          if (summary.notifications > 0) this.onDisabled();
        } catch (err) {
          this.ctx.log.warn({ err: { message: (err as Error).message, code: (err as { code?: string }).code } }, "recording attempts failed; retrying");
          await new Promise((r) => setTimeout(r, backoff));
          backoff = Math.min(backoff * 2, 5_000);
        }
      }
    } finally {
      this.flushing = null;
    }
  }
}
