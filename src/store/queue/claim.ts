/**
 * The claim: leases due deliveries for one worker, never more per webhook than its free slots
 * counted from live leases in the database (so HOOKLINE_WEBHOOK_CONCURRENCY holds across every
 * worker process), shared fairly across projects and webhooks (fair-share.ts), oldest first
 * within a webhook. It runs in three steps inside one transaction:
 *
 *  1. candidates: webhooks with at least one due, unleased delivery, with their live leases. Per
 *     webhook, one seek into its own range of deliveries_webhook_due that stops at the first due,
 *     unleased row (it passes at most the webhook's live leases, so a backlog is never walked) and
 *     one count over deliveries_leased (leased rows only).
 *  2. shares: the worker's free slots split round-robin across projects, then webhooks that have a
 *     free slot (limit − live leases).
 *  3. seeks: per webhook, its oldest due rows up to its share, leased.
 *
 * Each dialect makes the three steps atomic its own way (sqlite/claim-deliveries.ts: one write
 * transaction, SQLite's single writer; postgres/claim-deliveries.ts: the candidate webhooks' rows
 * locked, so two workers never count the same webhook's free slots at once).
 */
import type { Store } from "../db.js";
import { claimSqlite } from "../sqlite/claim-deliveries.js";
import { claimPostgres } from "../postgres/claim-deliveries.js";
import type { ClaimRequest, ClaimResult } from "./types.js";

export function claimDeliveries(store: Store, req: ClaimRequest): Promise<ClaimResult> {
  if (req.want <= 0) return Promise.resolve({ claimed: [], more: false });
  return store.dialect === "postgres" ? claimPostgres(store.db, req) : claimSqlite(store, req);
}
