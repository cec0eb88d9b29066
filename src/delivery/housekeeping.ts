/** Periodic work beside the delivery loop: the notification outbox and the retention purge. */
import type { Context } from "../services/context.js";
import type { Outbox } from "../notify/outbox.js";
import { purgeOld } from "../store/queue/purge.js";
import { CoalescedRun } from "../lib/coalesced-run.js";

export class Housekeeping {
  private outboxTimer: NodeJS.Timeout | undefined;
  private purgeTimer: NodeJS.Timeout | undefined;
  private readonly stopping = new AbortController();
  private readonly purges = new CoalescedRun(async () => {
    try {
      const r = await purgeOld(this.ctx.store.db, { now: this.ctx.now(), logRetentionDays: this.ctx.config.logRetentionDays, signal: this.stopping.signal });
      if (r.logEntries || r.deliveries || r.events) this.ctx.log.info({ purged: r }, "retention purge");
    } catch (err) {
      this.ctx.log.warn({ err: { message: (err as Error).message } }, "retention purge failed");
    }
  });

  constructor(
    private readonly ctx: Context,
    private readonly outbox: Outbox,
    private readonly opts: { outboxIntervalMs?: number; purgeIntervalMs?: number } = {},
  ) {}

  start(): void {
    this.outboxTimer = setInterval(() => this.sendNotifications(), this.opts.outboxIntervalMs ?? 1000);
    this.purgeTimer = setInterval(() => void this.purge(), this.opts.purgeIntervalMs ?? 3600_000);
    this.outboxTimer.unref();
    this.purgeTimer.unref();
    void this.purge();
  }

  sendNotifications(): void {
    this.outbox.run().catch((err) => this.ctx.log.warn({ err: { message: (err as Error).message } }, "notification outbox pass failed"));
  }

  /** A purge pass; asked for during one, it runs once more afterwards. */
  purge(): Promise<void> {
    return this.purges.request();
  }

  async stop(): Promise<void> {
    clearInterval(this.outboxTimer);
    clearInterval(this.purgeTimer);
    // The purge is paced and may run for minutes: it stops at its next batch; the next start resumes it.
    this.stopping.abort();
    await this.purges.close();
    await this.outbox.run().catch(() => {});
    this.outbox.close();
  }
}
