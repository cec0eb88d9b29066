/** What happens after an attempt: done, retry later, or give up (and, for events, disable). */
export type Next =
  | { kind: "succeeded" }
  | { kind: "retry"; delayMs: number }
  | { kind: "failed"; disableWebhook: boolean };

/**
 * `attemptsMade` counts this attempt. Test and Redeliver deliveries have maxAttempts 1 and never
 * disable a webhook; event deliveries retry after each delay in turn, then disable.
 */
export function nextStep(o: { success: boolean; attemptsMade: number; maxAttempts: number; trigger: string; retryDelaysMs: number[] }): Next {
  if (o.success) return { kind: "succeeded" };
  if (o.attemptsMade < o.maxAttempts) {
    const delay = o.retryDelaysMs[o.attemptsMade - 1] ?? o.retryDelaysMs[o.retryDelaysMs.length - 1] ?? 0;
    return { kind: "retry", delayMs: delay };
  }
  return { kind: "failed", disableWebhook: o.trigger === "event" };
}
