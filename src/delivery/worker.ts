/**
 * The delivery worker: claims due deliveries in batches under a lease, makes each attempt, and hands
 * outcomes to the recorder. A per-webhook in-flight cap keeps a slow endpoint from taking every slot.
 * Publishing in this process wakes it at once; on PostgreSQL a LISTEN connection (Runtime) wakes it
 * for publishes on other nodes, and polling finds everything else (due retries, missed notifications).
 */
import crypto from "node:crypto";
import { buildAttemptHeaders } from "../domain/payload.js";
import { HOOKLINE_VERSION } from "../version.js";
import type { Context } from "../services/context.js";
import { openSecret } from "../services/secrets.js";
import { claimAndLoad, releaseLeases, type AttemptTarget, type ClaimedDelivery } from "../store/deliveries.js";
import type { Metrics } from "./metrics.js";
import { OutcomeRecorder } from "./recorder.js";
import type { Sender } from "./sender.js";
import { WebhookLimits } from "./webhook-limits.js";

export interface WorkerOptions {
  concurrency: number;
  perWebhookConcurrency: number;
  /** How often an idle worker looks for due deliveries published elsewhere or due retries. */
  pollIntervalMs?: number;
}

const USER_AGENT = `Hookline/${HOOKLINE_VERSION}`;
/** Most deliveries one claim statement takes. */
const MAX_CLAIM = 200;
/**
 * How far before the oldest row the last claim could take the next quick claim starts walking: rows
 * committed a little out of order (concurrent publishes, another node's clock) are still seen.
 */
const CURSOR_MARGIN_MS = 2_000;

export class Worker {
  private readonly token = crypto.randomUUID();
  private readonly perWebhook = new Map<string, number>();
  /** Each webhook's in-flight limit: the setting, lowered while its attempts time out. */
  private readonly limits: WebhookLimits;
  private readonly inFlight = new Map<string, AbortController>();
  private readonly recorder: OutcomeRecorder;
  private running = false;
  private filling = false;
  private refill = false;
  private scheduled = false;
  private lastFullPass = 0;
  /** The last claim took every due row it could: a finished attempt alone then frees nothing new. */
  private exhausted = false;
  /**
   * The claim cursor: due rows older than this are all leased or belong to webhooks at their cap, so
   * a quick claim starts its walk of the queue here instead of stepping over them each time (a
   * hanging webhook's backlog grows by its event rate). 0: walk from the oldest row. It goes back to 0
   * whenever a webhook at its cap frees a slot (its old rows are claimable again); a full pass, every
   * poll interval, always walks from the oldest row (expired leases of a crashed worker, leases given
   * back by another node).
   */
  private cursor = 0;
  /** Counts cursor resets, so a claim that was running meanwhile does not set the cursor again. */
  private cursorResets = 0;
  /** Webhooks left out of a claim (no free slot) since the cursor was last reset. */
  private readonly skipped = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  /** A publish here names its webhooks: when each is at its cap, no claim could take the new rows yet. */
  private readonly onPublished = (webhookIds?: string[]) => {
    if (webhookIds?.every((id) => this.isFull(id))) return;
    this.wake();
  };
  private readonly leaseMs: number;
  private readonly pollMs: number;

  constructor(
    private readonly ctx: Context,
    private readonly sender: Sender,
    private readonly metrics: Metrics,
    private readonly opts: WorkerOptions,
    onDisabled: () => void = () => {},
  ) {
    // A lease outlives the attempt's own timeout, so only a crashed worker's claims expire.
    this.leaseMs = ctx.config.timeoutMs + 5_000;
    this.pollMs = opts.pollIntervalMs ?? 500;
    this.recorder = new OutcomeRecorder(ctx, metrics, onDisabled);
    this.limits = new WebhookLimits(opts.perWebhookConcurrency);
  }

  private isFull(webhookId: string): boolean {
    return (this.perWebhook.get(webhookId) ?? 0) >= this.limits.of(webhookId);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.ctx.signals.on("published", this.onPublished);
    this.wake();
  }

  /** Looks for work now (coalesced: concurrent calls make one more pass). */
  wake(): void {
    this.exhausted = false;
    this.schedule();
  }

  private schedule(): void {
    if (!this.running) return;
    if (this.filling) {
      this.refill = true;
      return;
    }
    // Attempts finishing in the same turn of the event loop share one claim.
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.running && !this.filling) void this.fill();
      else if (this.filling) this.refill = true;
    });
  }

  get activeAttempts(): number {
    return this.inFlight.size;
  }

  private async fill(): Promise<void> {
    this.filling = true;
    clearTimeout(this.timer);
    try {
      do {
        this.refill = false;
        // A short claim means no more due rows for the webhooks with free slots, except rows a
        // webhook that just filled up hid from the claim's window: a full pass (at most every poll
        // interval) claims on until nothing is left. Quick passes (after an attempt or a publish)
        // stop there, so a worker whose webhooks are all busy does not rescan the queue each time.
        const full = Date.now() - this.lastFullPass >= this.pollMs;
        if (full) this.lastFullPass = Date.now();
        while (this.running && this.inFlight.size < this.opts.concurrency) {
          const want = Math.min(this.opts.concurrency - this.inFlight.size, MAX_CLAIM);
          const started = await this.claim(want, full);
          if (started === 0 || (!full && started < want)) break;
        }
      } while (this.refill && this.running);
    } catch (err) {
      this.ctx.log.warn({ err: { message: (err as Error).message, code: (err as { code?: string }).code } }, "claiming deliveries failed; retrying");
    } finally {
      this.filling = false;
      if (this.running) this.timer = setTimeout(() => this.wake(), this.pollMs);
    }
  }

  /** Claims up to `limit` deliveries and starts them; returns how many were started. */
  private async claim(limit: number, full: boolean): Promise<number> {
    const now = this.ctx.now();
    const cap = this.opts.perWebhookConcurrency;
    // Free slots of every webhook with attempts in flight or a lowered limit; the rest have `cap`.
    const webhookSlots = new Map([...this.limits.entries()]);
    for (const [id, n] of this.perWebhook) webhookSlots.set(id, this.limits.of(id) - n);
    for (const [id, free] of webhookSlots) if (free <= 0) this.skipped.add(id);
    const resets = this.cursorResets;
    const { claimed, targets } = await claimAndLoad(this.ctx.store, {
      now,
      limit,
      leaseUntil: now + this.leaseMs,
      token: this.token,
      perWebhookLimit: cap,
      webhookSlots,
      since: full || this.cursor === 0 ? undefined : this.cursor,
    });
    this.exhausted = claimed.length < limit;
    // Every due row before the oldest one taken was leased or of a webhook with no slot (the claim
    // takes a webhook's rows oldest first), and with nothing taken, every due row was. Unless a slot
    // came free meanwhile (cursor reset while the claim ran).
    // A full pass walked from the oldest row, so its answer stands even if it is earlier (a clock set back).
    if (this.cursorResets === resets) {
      const from = claimed.reduce((min, d) => Math.min(min, d.run_at), now) - CURSOR_MARGIN_MS;
      this.cursor = full ? from : Math.max(this.cursor, from);
    }
    if (claimed.length === 0) return 0;
    const overflow: string[] = [];
    const start: ClaimedDelivery[] = [];
    const counts = new Map(this.perWebhook);
    for (const d of claimed) {
      const n = counts.get(d.webhook_id) ?? 0;
      if (n >= this.limits.of(d.webhook_id)) overflow.push(d.id);
      else {
        counts.set(d.webhook_id, n + 1);
        start.push(d);
      }
    }
    // If either statement fails (database gone), the claimed rows stay leased and come back when the
    // lease expires; the in-flight counts are only taken once the attempts really start.
    // The claim keeps to the slots; should a batch still exceed them, the rest goes back.
    if (overflow.length) {
      this.resetCursor();
      await releaseLeases(this.ctx.store.db, overflow, this.token, now);
    }
    for (const d of start) this.perWebhook.set(d.webhook_id, (this.perWebhook.get(d.webhook_id) ?? 0) + 1);
    for (const d of start) {
      const controller = new AbortController();
      this.inFlight.set(d.id, controller);
      void this.attempt(d, targets.get(d.id), controller.signal)
        // Only the cancel statement can fail here (database gone): the lease expires and the delivery comes back.
        .catch((err) => this.ctx.log.warn({ delivery_id: d.id, err: { message: (err as Error).message } }, "attempt bookkeeping failed"))
        .finally(() => {
          // A slot the last claim could not use (webhook or worker at its cap) is worth a claim;
          // any other one only if that claim left due rows behind.
          const wasFull = this.inFlight.size >= this.opts.concurrency || this.isFull(d.webhook_id);
          this.inFlight.delete(d.id);
          const left = (this.perWebhook.get(d.webhook_id) ?? 1) - 1;
          if (left <= 0) this.perWebhook.delete(d.webhook_id);
          else this.perWebhook.set(d.webhook_id, left);
          // A webhook left out of claims has a slot again: the rows the cursor passed over are claimable.
          if (this.skipped.has(d.webhook_id) && !this.isFull(d.webhook_id)) this.resetCursor();
          if (wasFull || !this.exhausted) this.schedule();
        });
    }
    return start.length;
  }

  private resetCursor(): void {
    this.cursor = 0;
    this.cursorResets++;
    this.skipped.clear();
  }

  private async attempt(d: ClaimedDelivery, target: AttemptTarget | undefined, signal: AbortSignal): Promise<void> {
    if (!target) return; // deleted between claim and load
    if (d.trigger === "event" && target.enabled !== 1) {
      await this.recorder.cancel(d.id, this.token);
      return;
    }
    const attempt = d.attempts + 1;
    const at = this.ctx.now();
    const headers = buildAttemptHeaders({
      event: target.event,
      deliveryId: d.id,
      attempt,
      secret: target.secret === null ? null : openSecret(this.ctx, target.secret),
      body: target.payload,
      userAgent: USER_AGENT,
      now: new Date(at),
    });
    // Tracing on: the attempt's span, a child of its publish; the receiver gets its traceparent.
    const span = this.ctx.tracing?.attempt(target.trace_context ?? null, { url: target.url, attempt, deliveryId: d.id, event: target.event, webhookId: d.webhook_id });
    if (span) headers.traceparent = span.traceparent;
    const result = await this.sender.send({ url: target.url, headers, body: target.payload }, signal);
    const outcome = result.success ? "success" : "failure";
    span?.end({ statusCode: result.statusCode, success: result.success, outcome: signal.aborted ? "aborted" : outcome, error: result.error });
    if (signal.aborted) return; // shutdown: the lease is released, the attempt is made again
    this.limits.onAttempt(d.webhook_id, result);
    this.metrics.attempts.inc({ outcome, trigger: d.trigger });
    this.metrics.attemptDuration.observe({ outcome }, result.durationMs / 1000);
    await this.recorder.record({
      deliveryId: d.id,
      leaseToken: this.token,
      attempt,
      event: target.event,
      request: { method: "POST", url: target.url, headers, body: target.payload },
      result,
      at,
    });
  }

  /**
   * Stops claiming, lets in-flight attempts finish for up to `graceMs`, aborts the rest and gives
   * their leases back so another worker (or the next start) makes them at once.
   */
  async stop(graceMs = this.ctx.config.timeoutMs): Promise<void> {
    if (!this.running) return;
    this.running = false;
    clearTimeout(this.timer);
    this.ctx.signals.off("published", this.onPublished);
    const deadline = Date.now() + graceMs;
    while (this.inFlight.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const aborted = [...this.inFlight.keys()];
    for (const c of this.inFlight.values()) c.abort();
    await this.recorder.flush();
    try {
      await releaseLeases(this.ctx.store.db, aborted, this.token, this.ctx.now());
    } catch (err) {
      this.ctx.log.warn({ err: { message: (err as Error).message } }, "could not release leases; they expire by themselves");
    }
  }
}
