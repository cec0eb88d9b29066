/**
 * The per-webhook part of a claim, shared by both dialects' claim statements. A worker caps the
 * attempts in flight to one webhook; the claim itself respects the cap (a window over the oldest
 * due rows, numbered per webhook), so no claimed row has to be given back and nothing is claimed
 * twice. Webhooks at their cap are left out of the scan altogether.
 */
import { sql, type RawBuilder } from "kysely";
import type { ClaimRequest } from "./deliveries.js";

export interface ClaimFilter {
  /**
   * The rows a claim may take: pending and due, not leased by a worker (another or this one), not
   * older than `since`, and not of a webhook with no slot left.
   */
  due: RawBuilder<unknown>;
  /**
   * How many rows of the row's webhook may be taken (a CASE over the partly busy webhooks), or null
   * when no webhook could exceed its slots within `limit` rows: then the plain oldest-first claim
   * does, without the window (which costs a sort of `scan` rows).
   */
  slots: RawBuilder<unknown> | null;
  /** How many of the oldest due rows the window looks at. */
  scan: number;
}

export function claimFilter(req: ClaimRequest): ClaimFilter {
  const full: string[] = [];
  const partial: [string, number][] = [];
  let fewest = req.perWebhookLimit;
  for (const [id, free] of req.webhookSlots) {
    if (free <= 0) full.push(id);
    else if (free < req.perWebhookLimit) {
      partial.push([id, free]);
      fewest = Math.min(fewest, free);
    }
  }
  const cap = sql`cast(${req.perWebhookLimit} as integer)`;
  const exclude = full.length ? sql` and webhook_id not in (${sql.join(full)})` : sql``;
  const since = req.since === undefined ? sql`` : sql` and run_at >= ${req.since}`;
  const due = sql`status = 'pending' and run_at <= ${req.now} and (lease_until is null or lease_until <= ${req.now})${since}${exclude}`;
  if (req.limit <= fewest) return { due, slots: null, scan: req.limit };
  return {
    due,
    slots: partial.length
      ? sql`case webhook_id ${sql.join(partial.map(([id, free]) => sql`when ${id} then cast(${free} as integer)`), sql` `)} else ${cap} end`
      : cap,
    // Enough rows that a few webhooks with one slot each cannot hide the rest of the window.
    scan: Math.max(req.limit * 4, 64),
  };
}
