/**
 * How many attempts one webhook may have in flight in this worker: HOOKLINE_WEBHOOK_CONCURRENCY,
 * halved each time an attempt to it times out (down to one) and raised by one per successful attempt
 * (up to the setting again). An endpoint that hangs thus holds one slot instead of sixteen after its
 * first attempts time out, so many hanging endpoints cannot take every slot of a worker, and its
 * attempts stop opening a burst of new connections at each wave of timeouts. Failures that end
 * quickly (refused, 5xx) hold no slot for long and leave the limit alone.
 */
export class WebhookLimits {
  /** Only webhooks below the setting; the map shrinks back as they recover. */
  private readonly reduced = new Map<string, number>();

  constructor(private readonly max: number) {}

  /** Attempts the webhook may have in flight now. */
  of(webhookId: string): number {
    return this.reduced.get(webhookId) ?? this.max;
  }

  /** Adjusts the webhook's limit after one of its attempts ended. */
  onAttempt(webhookId: string, result: { success: boolean; timedOut: boolean }): void {
    const now = this.of(webhookId);
    if (result.timedOut) {
      const next = Math.max(1, Math.floor(now / 2));
      if (next < this.max) this.reduced.set(webhookId, next);
    } else if (result.success && now < this.max) {
      if (now + 1 >= this.max) this.reduced.delete(webhookId);
      else this.reduced.set(webhookId, now + 1);
    }
  }

  /** Webhooks currently held below the setting (with their limits). */
  entries(): IterableIterator<[string, number]> {
    return this.reduced.entries();
  }
}
