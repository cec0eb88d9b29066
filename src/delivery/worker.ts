/**
 * The delivery worker: claim what is free, start the attempts, record outcomes in batches, sleep
 * until woken or polled. Which deliveries are free is the claim's business (store/queue/claim.ts:
 * per-webhook limits counted from live leases in the database, fair across projects and webhooks);
 * the worker only keeps its own slots: at most `concurrency` attempts, of which webhooks whose
 * attempts time out may hold only SUSPECT_SHARE, so hanging endpoints cannot take every slot.
 * Attempts are opened, signed and sent on the sender threads (sender-threads.ts); the worker keeps
 * the claim, the slots, the tracing spans and the recorder on this thread.
 * It is woken by a publish in this process, by the PostgreSQL LISTEN connection (Runtime), and by
 * each recorded batch of outcomes (their leases are gone: slots are free again).
 */
import crypto from "node:crypto";
import type { Context } from "../services/context.js";
import { claimDeliveries } from "../store/queue/claim.js";
import { releaseLeases } from "../store/queue/release.js";
import type { ClaimedDelivery } from "../store/queue/types.js";
import type { AttemptJob, SentAttempt } from "./attempt-job.js";
import type { Metrics } from "./metrics.js";
import { OutcomeRecorder } from "./recorder.js";
import { SenderThreadLostError } from "./sender-threads.js";
import { CoalescedRun } from "../lib/coalesced-run.js";

/** Signs and sends attempts (SenderThreads: off the main thread). */
export interface AttemptSender {
  send(job: AttemptJob, signal?: AbortSignal): Promise<SentAttempt>;
}

export interface WorkerOptions {
  concurrency: number;
  perWebhookConcurrency: number;
  /** How often an idle worker looks for due deliveries published elsewhere or due retries. */
  pollIntervalMs?: number;
}

/** Most deliveries one claim takes. */
const MAX_CLAIM = 200;
/** The share of a worker's slots that webhooks whose attempts time out may hold; the rest is kept for the others. */
export const SUSPECT_SHARE = 0.5;

/**
 * The context the worker's own statements (claims, records, releases) run in: the store's
 * `workerDb` when it has one (PostgreSQL: the same pool with the worker first in line), else the
 * context itself. A copy of the context as it is when the worker is made (runtime.ts sets every
 * member before), sharing its clock, logger, signals and tracing.
 */
function workerContext(ctx: Context): Context {
  const workerDb = ctx.store.workerDb;
  return workerDb ? { ...ctx, store: { ...ctx.store, db: workerDb } } : ctx;
}

export class Worker {
  private readonly token = crypto.randomUUID();
  private readonly inFlight = new Map<string, { controller: AbortController; suspect: boolean }>();
  private suspectInFlight = 0;
  private toRelease: string[] = [];
  private released: Promise<void> = Promise.resolve();
  private readonly recorder: OutcomeRecorder;
  private readonly suspectSlots: number;
  private afterProject: string | undefined;
  private running = false;
  /** Wakes in the same turn of the event loop share one claim pass; wakes during a pass, one more after it. */
  private readonly claims = new CoalescedRun(() => this.fill(), { start: "soon" });
  private timer: NodeJS.Timeout | undefined;
  private readonly onPublished = () => this.wake();
  private readonly leaseMs: number;
  private readonly pollMs: number;

  private readonly ctx: Context;

  constructor(
    ctx: Context,
    private readonly sender: AttemptSender,
    private readonly metrics: Metrics,
    private readonly opts: WorkerOptions,
    onDisabled: () => void = () => {},
  ) {
    this.ctx = workerContext(ctx);
    // A lease outlives the attempt's own timeout, so only a crashed worker's claims expire.
    this.leaseMs = ctx.config.timeoutMs + 5_000;
    this.pollMs = opts.pollIntervalMs ?? 500;
    this.recorder = new OutcomeRecorder(this.ctx, metrics, onDisabled);
    this.suspectSlots = Math.max(1, Math.floor(opts.concurrency * SUSPECT_SHARE));
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.ctx.signals.on("published", this.onPublished);
    this.wake();
  }

  get activeAttempts(): number {
    return this.inFlight.size;
  }

  /** Claims soon (see `claims`). */
  wake(): void {
    if (this.running) void this.claims.request();
  }

  /**
   * Answers once the outcomes of the attempts that have ended are stored and a claim pass begun
   * after that is over: a caller that decides when attempts end (a model-based test with its own
   * sender) steps the worker with it. Attempts still in flight are not waited for.
   */
  async settled(): Promise<void> {
    // The turn lets ended attempts hand their outcomes to the recorder, the second one lets the
    // wake their recording made start its claim pass, so the pass asked for here comes after it.
    await new Promise((resolve) => setImmediate(resolve));
    await this.recorder.flush();
    await new Promise((resolve) => setImmediate(resolve));
    if (this.running) await this.claims.request();
  }

  private async fill(): Promise<void> {
    if (!this.running) return;
    clearTimeout(this.timer);
    let wakeAt: number | undefined;
    try {
      // Claim until the slots are full or a claim says nothing more is claimable now.
      while (this.running && this.inFlight.size < this.opts.concurrency) {
        const now = this.ctx.now();
        const want = Math.min(this.opts.concurrency - this.inFlight.size, MAX_CLAIM);
        const result = await claimDeliveries(this.ctx.store, {
          now,
          leaseUntil: now + this.leaseMs,
          token: this.token,
          want,
          suspectWant: Math.max(0, this.suspectSlots - this.suspectInFlight),
          cap: this.opts.perWebhookConcurrency,
          afterProject: this.afterProject,
        });
        const { claimed, lastProject, more } = result;
        // A rate-limited webhook passed over: claim again when its next start is allowed.
        wakeAt = result.wakeAt;
        if (lastProject !== undefined) this.afterProject = lastProject;
        for (const d of claimed) this.start1(d);
        if (claimed.length === 0 || !more) break;
      }
    } catch (err) {
      this.ctx.log.warn({ err: { message: (err as Error).message, code: (err as { code?: string }).code } }, "claiming deliveries failed; retrying");
    } finally {
      const delay = wakeAt === undefined ? this.pollMs : Math.max(1, Math.min(this.pollMs, wakeAt - this.ctx.now()));
      if (this.running) this.timer = setTimeout(() => this.wake(), delay);
    }
  }

  private start1(d: ClaimedDelivery): void {
    const controller = new AbortController();
    this.inFlight.set(d.id, { controller, suspect: d.suspect });
    if (d.suspect) this.suspectInFlight++;
    void this.attempt(d, controller.signal)
      // Only the store can fail here (database gone): the lease expires and the delivery comes back.
      .catch((err) => this.ctx.log.warn({ delivery_id: d.id, err: { message: (err as Error).message } }, "attempt bookkeeping failed"))
      .finally(() => {
        this.inFlight.delete(d.id);
        if (d.suspect) this.suspectInFlight--;
        // The outcome is stored and the lease gone: this webhook (and this worker) has a free slot.
        this.wake();
      });
  }

  private async attempt(d: ClaimedDelivery, signal: AbortSignal): Promise<void> {
    const target = d.target;
    if (!target) return; // deleted between claim and load
    if ((d.trigger === "event" || d.trigger === "recover") && target.enabled !== 1) {
      await this.recorder.cancel(d.id, this.token);
      return;
    }
    const attempt = d.attempts + 1;
    const at = this.ctx.now();
    // Tracing on: the attempt's span, a child of its publish; the receiver gets its traceparent.
    const span = this.ctx.tracing?.attempt(target.trace_context ?? null, {
      url: target.url,
      attempt,
      deliveryId: d.id,
      event: target.event,
      webhookId: d.webhook_id,
    });
    let sent: SentAttempt;
    try {
      // Secrets travel sealed as stored; the sender thread opens them, signs and sends.
      sent = await this.sender.send(
        {
          webhookId: d.webhook_id,
          url: target.url,
          body: target.payload,
          event: target.event,
          deliveryId: d.id,
          attempt,
          secret: target.secret,
          // A rotated-out secret signs too until it expires; a signing key adds the `v1a,` value.
          previousSecret: target.previous_secret && Number(target.previous_secret_expires_at) > at ? target.previous_secret : null,
          signingKey: target.signing_key ?? null,
          headers: target.headers ?? null,
          auth: target.auth ?? null,
          authSecret: target.auth_secret ?? null,
          clientCert: target.client_cert ?? null,
          clientKey: target.client_key ?? null,
          now: at,
          traceparent: span?.traceparent,
        },
        signal,
      );
    } catch (err) {
      const lost = err instanceof SenderThreadLostError;
      span?.end({ statusCode: null, success: false, outcome: signal.aborted || lost ? "aborted" : "failure", error: (err as Error).message });
      if (signal.aborted) return; // shutdown: the lease is released, the attempt is made again
      if (lost) return this.releaseSoon(d.id); // the thread died: made again at once, nothing recorded
      throw err;
    }
    const { headers, result } = sent;
    const outcome = result.success ? "success" : "failure";
    span?.end({ statusCode: result.statusCode, success: result.success, outcome: signal.aborted ? "aborted" : outcome, error: result.error });
    if (signal.aborted) return;
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
      claimed: d,
    });
  }

  /** Gives leases back in one statement per turn (a dead sender thread fails all its attempts at once). */
  private releaseSoon(id: string): Promise<void> {
    if (this.toRelease.length === 0) {
      this.released = new Promise((resolve) => setImmediate(resolve)).then(async () => {
        const ids = this.toRelease;
        this.toRelease = [];
        await releaseLeases(this.ctx.store.db, ids, this.token, this.ctx.now());
      });
    }
    this.toRelease.push(id);
    return this.released;
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
    for (const { controller } of this.inFlight.values()) controller.abort();
    await this.recorder.flush();
    try {
      await releaseLeases(this.ctx.store.db, aborted, this.token, this.ctx.now());
    } catch (err) {
      this.ctx.log.warn({ err: { message: (err as Error).message } }, "could not release leases; they expire by themselves");
    }
  }
}
