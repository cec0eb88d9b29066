/**
 * A finished attempt as the recorder gets it, and what recording one decides from it: its log entry
 * and its delivery's next step. Both ways of recording use these (record-outcomes.ts reads the
 * delivery first; record-claimed.ts uses what the claim read).
 */
import { newId } from "../domain/ids.js";
import { nextStep, type Next } from "../domain/retry-policy.js";
import type { Context } from "../services/context.js";
import { storedRequest } from "../store/logs.js";
import type { AttemptedDelivery } from "../store/queue/attempted.js";
import type { ClaimedDelivery } from "../store/queue/types.js";
import type { LogEntryRow } from "../store/schema.js";
import type { AttemptResult } from "./sender.js";

export interface Outcome {
  deliveryId: string;
  leaseToken: string;
  attempt: number;
  event: string;
  request: { method: string; url: string; headers: Record<string, string>; body: string };
  result: AttemptResult;
  at: number;
  /** The delivery as claimed: with its state, the batch is recorded without a read (record-claimed.ts). */
  claimed?: ClaimedDelivery;
}

type Attempted = Pick<AttemptedDelivery, "id" | "webhook_id" | "project_id" | "trigger" | "attempts" | "max_attempts" | "retry_delays">;

/** The log entry of an attempt (its body stored as a reference to the event's payload when it is that: logs.ts). */
export function logEntryOf(o: Outcome, d: Attempted, payload: string): LogEntryRow {
  return {
    id: newId("log", o.at),
    webhook_id: d.webhook_id,
    delivery_id: d.id,
    project_id: d.project_id,
    event: o.event,
    attempt: o.attempt,
    trigger: d.trigger,
    success: o.result.success ? 1 : 0,
    status_code: o.result.statusCode,
    error: o.result.error,
    duration_ms: Math.round(o.result.durationMs),
    created_at: o.at,
    request: storedRequest(o.request, payload),
    response: o.result.response ? JSON.stringify(o.result.response) : null,
  };
}

/** The delivery's next step after this attempt (domain/retry-policy.ts). */
export function stepOf(ctx: Context, d: Attempted, o: Outcome, now: number): Next {
  // The schedule the delivery was created with (older rows: the configured one).
  const retryDelaysMs = d.retry_delays ? (JSON.parse(d.retry_delays) as number[]) : ctx.config.retryDelaysMs;
  return nextStep({
    success: o.result.success,
    attemptsMade: d.attempts + 1,
    maxAttempts: d.max_attempts,
    trigger: d.trigger,
    retryDelaysMs,
    // The receiver's answer may change the schedule: Retry-After on 429/503, 410 Gone.
    status: o.result.statusCode,
    retryAfter: o.result.response?.headers["retry-after"],
    now,
  });
}
