import type { AttemptTarget, ClaimedDelivery, ClaimedState } from "./types.js";

/** A leased row's own columns, as both stores' lease statements return them (PostgreSQL: `run_at` a bigint's string). */
export type LeasedColumns = Omit<ClaimedDelivery, "suspect" | "target" | "state" | "run_at"> & { run_at: number | string };

/** The claimed delivery both stores' claims answer: the leased row's columns, with what the claim found beside them. */
export function claimedDelivery(r: LeasedColumns, suspect: boolean, target: AttemptTarget | null, state: ClaimedState | undefined): ClaimedDelivery {
  return {
    id: r.id,
    event_id: r.event_id,
    webhook_id: r.webhook_id,
    project_id: r.project_id,
    trigger: r.trigger,
    attempts: r.attempts,
    max_attempts: r.max_attempts,
    run_at: Number(r.run_at),
    suspect,
    target,
    state,
  };
}
