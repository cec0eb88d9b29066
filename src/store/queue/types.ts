/** What the delivery queue's operations (store/queue/*.ts) take and answer. */
import type { DeliveryRow, EventsTable, WebhooksTable } from "../schema.js";

export interface ClaimRequest {
  now: number;
  /** When the leases taken expire (a crashed worker's deliveries come back then). */
  leaseUntil: number;
  /** The claiming worker's lease token. */
  token: string;
  /** Most deliveries to take: the worker's free slots. */
  want: number;
  /**
   * Most of them that may go to webhooks whose attempts time out (inflight_limit set): the rest of
   * the worker's slots is kept for healthy webhooks.
   */
  suspectWant: number;
  /** HOOKLINE_WEBHOOK_CONCURRENCY: attempts in flight to one webhook across all workers. */
  cap: number;
  /** The project served last by this worker's previous claim: the round-robin resumes after it. */
  afterProject?: string;
}

/**
 * What an attempt needs, read at claim time so URL/secret edits apply to retries: the event's body
 * (and the publish's trace context, the parent of the attempt's span) and the webhook's URL, keys and
 * receiver options (headers, auth, client certificate; secrets as stored, sealed or not).
 */
export type AttemptTarget = Pick<EventsTable, "event" | "payload" | "trace_context"> &
  Pick<
    WebhooksTable,
    | "url"
    | "secret"
    | "previous_secret"
    | "previous_secret_expires_at"
    | "signing_key"
    | "enabled"
    | "headers"
    | "auth"
    | "auth_secret"
    | "client_cert"
    | "client_key"
  >;

export interface ClaimedDelivery {
  id: string;
  event_id: string;
  webhook_id: string;
  project_id: string;
  trigger: DeliveryRow["trigger"];
  attempts: number;
  max_attempts: number;
  run_at: number;
  /** Its webhook's attempts time out (its in-flight limit is lowered): it counts against the suspect share. */
  suspect: boolean;
  /** Null when the event or webhook was deleted between the claim and the read. */
  target: AttemptTarget | null;
  /**
   * What recording the attempt's outcome decides with, read with the lease (both stores' claims):
   * the record can then write without reading first (record-batch.ts). Absent: the record reads.
   */
  state?: ClaimedState;
}

export interface ClaimedState {
  retry_delays: string | null;
  /** The webhook's in-flight limit when claimed (inflight-limit.ts). */
  inflight_limit: number | null;
}

export interface ClaimResult {
  claimed: ClaimedDelivery[];
  /** The last project served, for the next claim's `afterProject`. */
  lastProject?: string;
  /**
   * True when `want` (or `suspectWant`) ran out before every webhook with due work had its free
   * slots offered: another claim may find more. False: everything claimable now was taken.
   */
  more: boolean;
  /** The earliest time a rate-limited webhook passed over now may start again: the worker claims again then. */
  wakeAt?: number;
}

/** A webhook with due work and a free slot, as the claim found it. */
export interface Candidate {
  id: string;
  project_id: string;
  /** Its limit: HOOKLINE_WEBHOOK_CONCURRENCY, or lower while its attempts time out. */
  limit: number;
  /** Live leases (attempts in flight in every worker). */
  busy: number;
  suspect: boolean;
  /** Its rate limit (starts per second) and that limit's state (rate-limit.ts); null: none. */
  rate: number | null;
  tat: number | null;
  /** Ordering "fifo" (fifo.ts), and its oldest pending delivery when that one may start now. */
  fifo: boolean;
  head: string | null;
}
